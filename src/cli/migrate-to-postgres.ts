/**
 * Copies an embedded SQLite database into PostgreSQL, for operators moving to the server deployment:
 *   npm run migrate-to-postgres -- --from ./data/calbridge.db --to postgres://user:pass@host/db
 * The target gets the same migrations first and must hold no records; ids are kept, and identity sequences are
 * moved past them. Prints progress per table. Stop the service before copying.
 * The tables, their columns and their order come from the two schemas themselves, so a table a later migration adds
 * is copied without anyone remembering to list it here.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { migrate, openPostgres, openSqlite } from '../storage/database.js';
import type { TableName } from '../storage/schema.js';

/** Kysely's own bookkeeping: each side keeps the record of its own migrations. */
const BOOKKEEPING = new Set(['kysely_migration', 'kysely_migration_lock']);
/**
 * The tables FTS5 keeps for each virtual table: SQLite's own search index (PostgreSQL searches with pg_trgm); and
 * `_pending`, the records the index takes at the next commit (migration 016; empty at rest).
 */
const FTS_SHADOWS = ['_data', '_idx', '_content', '_docsize', '_config', '_pending'];
/** PostgreSQL takes at most 65535 parameters per statement. */
const MAX_PARAMS = 60_000;

interface Plan {
  table: string;
  /** Columns both sides have, in the source's order. */
  columns: string[];
  /** Target columns filled by a sequence (identity or serial), to move past the copied values. */
  identity: string[];
}

/** The tables the migrations made in SQLite, without SQLite's internals, Kysely's bookkeeping and FTS5 tables. */
async function sourceTables(db: Kysely<any>): Promise<string[]> {
  const rows = (await sql<{ name: string; sql: string | null }>`SELECT name, sql FROM sqlite_master WHERE type = 'table'`.execute(db)).rows;
  const skip = new Set<string>(BOOKKEEPING);
  for (const r of rows) {
    if (/^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(r.sql ?? '')) for (const s of ['', ...FTS_SHADOWS]) skip.add(r.name + s);
  }
  return rows.map((r) => r.name).filter((n) => !n.startsWith('sqlite_') && !skip.has(n));
}

/** Parents before children, so every foreign key holds at every insert (Kahn's algorithm, ties by name). */
function parentsFirst(parents: Map<string, Set<string>>): string[] {
  const left = new Map(parents);
  const order: string[] = [];
  while (left.size) {
    const ready = [...left.keys()].filter((t) => [...left.get(t)!].every((p) => !left.has(p))).sort();
    if (!ready.length) throw new Error(`Foreign keys form a cycle among ${[...left.keys()].sort().join(', ')}; no copy order satisfies them`);
    for (const t of ready) {
      order.push(t);
      left.delete(t);
    }
  }
  return order;
}

/** What to copy, in order; problems that make a faithful copy impossible are thrown, mere differences reported. */
async function plan(source: Kysely<any>, target: Kysely<any>): Promise<Plan[]> {
  const tables = await sourceTables(source);
  const parents = new Map<string, Set<string>>();
  const sourceColumns = new Map<string, string[]>();
  for (const t of tables) {
    sourceColumns.set(t, (await sql<{ name: string }>`SELECT name FROM pragma_table_info(${t}) ORDER BY cid`.execute(source)).rows.map((c) => c.name));
    const fks = (await sql<{ table: string }>`SELECT "table" FROM pragma_foreign_key_list(${t})`.execute(source)).rows;
    // A parent outside the copied set (none today) cannot be ordered against; a self-reference is not a cycle.
    parents.set(t, new Set(fks.map((f) => f.table).filter((p) => p !== t && tables.includes(p))));
  }
  const targetColumns = new Map<string, { name: string; identity: boolean }[]>();
  // Generated columns (the stored lowercase name) are PostgreSQL's to compute: not copied, not reported.
  const pgRows = (await sql<{ table_name: string; column_name: string; is_identity: string; column_default: string | null }>`
    SELECT c.table_name, c.column_name, c.is_identity, c.column_default FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
    WHERE c.table_schema = current_schema() AND c.is_generated = 'NEVER' ORDER BY c.table_name, c.ordinal_position`.execute(target)).rows;
  for (const r of pgRows) {
    if (BOOKKEEPING.has(r.table_name)) continue;
    const identity = r.is_identity === 'YES' || /^nextval\(/.test(r.column_default ?? '');
    targetColumns.set(r.table_name, [...(targetColumns.get(r.table_name) ?? []), { name: r.column_name, identity }]);
  }
  const missing = tables.filter((t) => !targetColumns.has(t));
  if (missing.length) throw new Error(`The target has no table ${missing.join(', ')} (its migrations differ from the source's)`);
  for (const t of targetColumns.keys()) if (!tables.includes(t)) console.error(`Note: ${t} exists only in PostgreSQL; it stays empty.`);

  return parentsFirst(parents).map((table) => {
    const src = sourceColumns.get(table)!;
    const dst = targetColumns.get(table)!;
    const dstNames = new Set(dst.map((c) => c.name));
    for (const c of src) if (!dstNames.has(c)) console.error(`Warning: ${table}.${c} exists only in SQLite; its values are not copied.`);
    for (const c of dst) if (!src.includes(c.name)) console.error(`Note: ${table}.${c.name} exists only in PostgreSQL; it gets its default.`);
    return { table, columns: src.filter((c) => dstNames.has(c)), identity: dst.filter((c) => c.identity).map((c) => c.name) };
  });
}

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
    const plans = await plan(source.db, target.db);
    for (const { table } of plans) {
      const { n } = (await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(target.db)).rows[0]!;
      if (Number(n) > 0) {
        console.error(`The target already has rows in ${table}; migrate into an empty database.`);
        return 1;
      }
    }
    const started = Date.now();
    // One read transaction on the source (a consistent snapshot) and one write transaction on the target: nothing
    // is committed unless every table was copied.
    await source.db.transaction().execute((src) => target.db.transaction().execute(async (trx) => {
      for (const { table, columns, identity } of plans) {
        const total = Number((await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(src)).rows[0]!.n);
        const batch = Math.min(1000, Math.floor(MAX_PARAMS / columns.length));
        const cols = sql.join(columns.map((c) => sql.ref(c)));
        let copied = 0;
        let after = -Infinity;
        process.stdout.write(`${table}: 0 / ${total}`);
        for (;;) {
          // Paged by rowid: every table the migrations make has one, whatever its primary key.
          const rows = (await sql<Record<string, unknown>>`SELECT rowid AS "__rowid", ${cols} FROM ${sql.table(table)}
            WHERE rowid > ${after} ORDER BY rowid LIMIT ${batch}`.execute(src)).rows;
          if (!rows.length) break;
          after = rows[rows.length - 1]!.__rowid as number;
          for (const r of rows) delete r.__rowid;
          await trx.insertInto(table as TableName).values(rows as never).execute();
          copied += rows.length;
          process.stdout.write(`\r${table}: ${copied} / ${total}`);
        }
        process.stdout.write(`\r${table}: ${copied} / ${total} copied\n`);
        // Explicit ids do not advance a sequence: move it past the largest copied value, or the next insert collides.
        for (const column of copied ? identity : []) {
          await sql`SELECT setval(pg_get_serial_sequence(${table}, ${column}), (SELECT max(${sql.ref(column)}) FROM ${sql.table(table)}))`.execute(trx);
        }
      }
    }));
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
