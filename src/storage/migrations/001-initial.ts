import { sql, type Kysely, type CreateTableBuilder } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Id + UniqueId + audit columns, the same on every entity table. */
export function withRecordMeta<T extends string>(table: CreateTableBuilder<T, never>, dialect: Dialect) {
  return (dialect === 'postgres'
    ? table.addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()))
    .addColumn('unique_id', 'text', (c) => c.notNull().unique())
    .addColumn('created_on', 'text', (c) => c.notNull())
    .addColumn('updated_on', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .addColumn('is_new', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('system_id', 'text');
}

export function initial(dialect: Dialect) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await withRecordMeta(db.schema.createTable('coworkers'), dialect)
        .addColumn('full_name', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .execute();
      // Unique e-mail, case-insensitively.
      await sql`CREATE UNIQUE INDEX coworkers_email_lower ON coworkers (lower(email))`.execute(db);
      await sql`CREATE INDEX coworkers_full_name_lower ON coworkers (lower(full_name))`.execute(db);

      await withRecordMeta(db.schema.createTable('resources'), dialect)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('calendar_email', 'text')
        .execute();
      await sql`CREATE INDEX resources_name_lower ON resources (lower(name))`.execute(db);

      await withRecordMeta(db.schema.createTable('coworker_ms_office_calendars'), dialect)
        .addColumn('resource_id', 'integer', (c) => c.notNull().references('resources.id').onDelete('restrict'))
        .addColumn('coworker_id', 'integer', (c) => c.references('coworkers.id').onDelete('restrict'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('subscription_id', 'text', (c) => c.notNull())
        .addColumn('calendar_id', 'text', (c) => c.notNull())
        .addColumn('subscription_expire_date', 'text', (c) => c.notNull())
        .execute();
      const cal = 'coworker_ms_office_calendars';
      for (const col of ['resource_id', 'coworker_id', 'subscription_id', 'calendar_id', 'subscription_expire_date', 'created_on', 'updated_on']) {
        await db.schema.createIndex(`${cal}_${col}`).on(cal).columns([col, 'id']).execute();
      }
      await sql`CREATE INDEX coworker_ms_office_calendars_name_lower ON coworker_ms_office_calendars (lower(name), id)`.execute(db);

      if (dialect === 'postgres') {
        // Substring search on Name and coworker names: trigram GIN indexes serve lower(x) LIKE '%...%'.
        await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
        await sql`CREATE INDEX coworker_ms_office_calendars_name_trgm ON coworker_ms_office_calendars USING gin (lower(name) gin_trgm_ops)`.execute(db);
        await sql`CREATE INDEX coworkers_full_name_trgm ON coworkers USING gin (lower(full_name) gin_trgm_ops)`.execute(db);
      }
      if (dialect === 'sqlite') {
        // Substring search on Name: an FTS5 trigram index kept in step by triggers (case-insensitive by default).
        await sql`CREATE VIRTUAL TABLE coworker_ms_office_calendars_name_fts USING fts5(
          name, content='coworker_ms_office_calendars', content_rowid='id', tokenize='trigram')`.execute(db);
        await sql`CREATE TRIGGER coworker_ms_office_calendars_fts_ai AFTER INSERT ON coworker_ms_office_calendars BEGIN
          INSERT INTO coworker_ms_office_calendars_name_fts(rowid, name) VALUES (new.id, new.name); END`.execute(db);
        await sql`CREATE TRIGGER coworker_ms_office_calendars_fts_ad AFTER DELETE ON coworker_ms_office_calendars BEGIN
          INSERT INTO coworker_ms_office_calendars_name_fts(coworker_ms_office_calendars_name_fts, rowid, name)
          VALUES ('delete', old.id, old.name); END`.execute(db);
        await sql`CREATE TRIGGER coworker_ms_office_calendars_fts_au AFTER UPDATE OF name ON coworker_ms_office_calendars BEGIN
          INSERT INTO coworker_ms_office_calendars_name_fts(coworker_ms_office_calendars_name_fts, rowid, name)
          VALUES ('delete', old.id, old.name);
          INSERT INTO coworker_ms_office_calendars_name_fts(rowid, name) VALUES (new.id, new.name); END`.execute(db);
      }

      await withRecordMeta(db.schema.createTable('users'), dialect)
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('full_name', 'text')
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('full_administrator', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('coworker_id', 'integer', (c) => c.references('coworkers.id').onDelete('restrict'))
        .execute();
      await sql`CREATE UNIQUE INDEX users_email_lower ON users (lower(email))`.execute(db);

      for (const t of ['access_tokens', 'refresh_tokens']) {
        await db.schema.createTable(t)
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex(`${t}_user_client`).on(t).columns(['user_id', 'client_id']).execute();
      }
    },
    async down(): Promise<void> {
      throw new Error('calbridge migrations are forward-only');
    },
  };
}
