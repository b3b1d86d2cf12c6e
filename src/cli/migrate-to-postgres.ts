/**
 * Copies an embedded SQLite database into PostgreSQL, for operators moving to the server deployment:
 *   npm run migrate-to-postgres -- --from ./data/calbridge.db --to postgres://user:pass@host/db
 * The target gets the same migrations first and must hold no records; ids are kept, and identity sequences are
 * moved past them. Prints progress per table. Stop the service before copying.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { migrate, openPostgres, openSqlite } from '../storage/database.js';
import type { TableName } from '../storage/schema.js';

/** Parents before children, so foreign keys hold at every step. */
const TABLES: TableName[] = ['coworkers', 'resources', 'users', 'coworker_ms_office_calendars', 'access_tokens', 'refresh_tokens', 'jobs' as TableName];
const WITH_IDENTITY = new Set<string>(['coworkers', 'resources', 'users', 'coworker_ms_office_calendars', 'jobs']);
const BATCH = 1000;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.from || !values.to) {
    console.log('Usage: npm run migrate-to-postgres -- --from ./data/calbridge.db --to postgres://user:password@host:5432/database');
    return values.help ? 0 : 2;
  }
  if (!fs.existsSync(values.from)) {
    console.error(`No SQLite database at ${values.from}`);
    return 2;
  }
  if (!/^postgres(ql)?:\/\//.test(values.to)) {
    console.error('--to must be a postgres:// URL');
    return 2;
  }
  const source = openSqlite({ file: values.from, backgroundCheckpoints: false });
  const target = openPostgres({ url: values.to, poolSize: 2 });
  try {
    await migrate(source);
    await migrate(target);
    for (const table of TABLES) {
      const { n } = (await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(target.db)).rows[0]!;
      if (Number(n) > 0) {
        console.error(`The target already has rows in ${table}; migrate into an empty database.`);
        return 1;
      }
    }
    const started = Date.now();
    await target.db.transaction().execute(async (trx) => {
      for (const table of TABLES) {
        const total = Number((await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(source.db)).rows[0]!.n);
        const key = table.endsWith('_tokens') ? 'token_hash' : 'id';
        let copied = 0;
        let after: unknown = key === 'id' ? 0 : '';
        process.stdout.write(`${table}: 0 / ${total}`);
        for (;;) {
          const rows = await source.db.selectFrom(table).selectAll().where(key as never, '>', after as never).orderBy(key as never).limit(BATCH).execute();
          if (!rows.length) break;
          await trx.insertInto(table).values(rows as never).execute();
          copied += rows.length;
          after = (rows[rows.length - 1] as Record<string, unknown>)[key];
          process.stdout.write(`\r${table}: ${copied} / ${total}`);
        }
        process.stdout.write(`\r${table}: ${copied} / ${total} copied\n`);
        if (WITH_IDENTITY.has(table) && copied) {
          await sql`SELECT setval(pg_get_serial_sequence(${table}, 'id'), (SELECT max(id) FROM ${sql.table(table)}))`.execute(trx);
        }
      }
    });
    console.log(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Start the service with DATABASE_URL set to the target.`);
    return 0;
  } finally {
    await source.close();
    await target.close();
  }
}

main().then((code) => process.exit(code), (err) => {
  console.error(`Migration failed, nothing was committed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
