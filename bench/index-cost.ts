/**
 * What each secondary index of the calendar table costs an insert, measured on the seeded benchmark database:
 *
 *   npx tsx bench/index-cost.ts [--file ./data/bench.db] [--rows 20000] [--repeat 3] [--group 32]
 *   DATABASE_URL=postgres://... npx tsx bench/index-cost.ts      (a database seeded by `npm run bench`)
 *
 * For the table as migrated, then with each secondary index dropped in turn (and, on SQLite, the trigram index's insert
 * trigger), it inserts `--rows` rows shaped like the POST case's in one transaction and rolls it back (DDL is
 * transactional on both databases, so the index comes back and the data is as seeded). Prints microseconds per row,
 * the median of `--repeat` runs, and what dropping that index saves. Run it while no benchmark server uses the database.
 */
import pg from 'pg';
import BetterSqlite3 from 'better-sqlite3';
import { ArgError, intArg, parseArgs, usage, type OptionSpec } from './lib/args.js';
import { NAME_INDEX_FLUSH } from '../src/storage/migrations/016-name-index-per-commit.js';

const SPEC: Record<string, OptionSpec> = {
  file: { value: true, help: 'seeded SQLite database (default ./data/bench.db); DATABASE_URL selects PostgreSQL' },
  rows: { value: true, help: 'rows inserted per measurement (default 20000)' },
  repeat: { value: true, help: 'measurements per variant; the median is printed (default 3)' },
  group: { value: true, help: 'SQLite: creates per commit, as group commit shares them (default 32)' },
};
const TABLE = 'coworker_ms_office_calendars';
const COLUMNS = ['resource_id', 'coworker_id', 'name', 'subscription_id', 'calendar_id', 'subscription_expire_date', 'system_id', 'unique_id', 'created_on', 'updated_on', 'updated_by', 'is_new'];

function rowAt(i: number): unknown[] {
  const now = new Date().toISOString();
  return [1 + (i * 7919) % 10_000, 1 + (i * 104_729) % 50_000, `Index Cost ${i} calendar`, `sub-ic-${i}`, `AAMkAD-ic-${i}`, '2030-01-06T10:30:00.000Z',
    null, `ic-${process.pid}-${i}`, now, now, 'bench@calbridge.local', 1];
}

interface Variant { label: string; drop: string | null }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), SPEC);
  if (args.has('help')) return void process.stdout.write(usage('npx tsx bench/index-cost.ts', SPEC));
  const rows = intArg(args, 'rows', 20_000, 100);
  const repeat = intArg(args, 'repeat', 3, 1);
  const group = intArg(args, 'group', 32, 1);
  const url = process.env.DATABASE_URL?.trim();
  const results: Array<{ label: string; us: number }> = [];

  if (url) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const indexes = (await c.query<{ name: string }>(
        `SELECT i.relname AS name FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
          WHERE x.indrelid = $1::regclass AND NOT x.indisprimary ORDER BY 1`, [TABLE])).rows.map((r) => r.name);
      const variants: Variant[] = [{ label: '(all indexes, as migrated)', drop: null },
        ...indexes.map((name) => ({ label: name, drop: `DROP INDEX ${name}` }))];
      const placeholders = COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
      const insert = { name: 'index_cost_insert', text: `INSERT INTO ${TABLE} (${COLUMNS.join(', ')}) VALUES (${placeholders})` };
      for (const v of variants) {
        const times: number[] = [];
        for (let r = 0; r < repeat; r++) {
          await c.query('BEGIN');
          try {
            // A unique index backs a constraint: drop the constraint instead.
            if (v.drop) await c.query(v.drop.includes('_key') ? `ALTER TABLE ${TABLE} DROP CONSTRAINT ${v.label}` : v.drop);
            const t = process.hrtime.bigint();
            for (let i = 0; i < rows; i++) await c.query({ ...insert, values: rowAt(i) });
            times.push(Number(process.hrtime.bigint() - t) / 1e3 / rows);
          } finally {
            await c.query('ROLLBACK');
          }
        }
        results.push({ label: v.label, us: median(times) });
        process.stderr.write(`index-cost: ${v.label}: ${median(times).toFixed(1)} µs/row\n`);
      }
    } finally {
      await c.end();
    }
  } else {
    const db = new BetterSqlite3(String(args.get('file') ?? './data/bench.db'));
    try {
      db.pragma('foreign_keys = ON');
      db.pragma('cache_size = -16384'); // as the service runs
      const names = (db.prepare(`SELECT name FROM sqlite_master WHERE tbl_name = ? AND type = 'index' AND sql IS NOT NULL ORDER BY name`).all(TABLE) as { name: string }[]).map((r) => r.name);
      const perInsert = `DROP TRIGGER ${TABLE}_fts_ai; CREATE TRIGGER ${TABLE}_fts_ai AFTER INSERT ON ${TABLE} BEGIN
        INSERT INTO ${TABLE}_name_fts(rowid, name) VALUES (new.id, new.name); END`;
      const variants: Variant[] = [{ label: '(all indexes, as migrated)', drop: null },
        ...names.map((name) => ({ label: name, drop: `DROP INDEX ${name}` })),
        { label: 'FTS5 trigram index (its insert trigger and the commit\'s flush)', drop: `DROP TRIGGER ${TABLE}_fts_ai` },
        { label: 'trigram index written by each insert (before migration 016)', drop: perInsert }];
      const insert = db.prepare(`INSERT INTO ${TABLE} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
      // As the service writes: each create in a savepoint of its own (a unit of the group commit), and what the
      // commit does before it (migration 016: the group's new records into the trigram index) every `group` rows.
      const timesOf = new Map<Variant, number[]>();
      const flush = NAME_INDEX_FLUSH.statements.map((text) => db.prepare(text));
      // An untimed pass first: the first variant measured would otherwise pay for reading the indexes into the cache.
      for (const [v, r] of [[variants[0]!, -1] as const, ...variants.flatMap((v) => Array.from({ length: repeat }, (_, r) => [v, r] as const))]) {
        const times = timesOf.get(v) ?? [];
        timesOf.set(v, times);
        {
          db.exec('BEGIN');
          try {
            if (v.drop) db.exec(v.drop);
            const t = process.hrtime.bigint();
            for (let i = 0; i < rows; i++) {
              db.exec('SAVEPOINT calbridge_unit');
              insert.run(...rowAt(i));
              db.exec('RELEASE calbridge_unit');
              if ((i + 1) % group === 0 || i === rows - 1) for (const f of flush) f.run();
            }
            if (r >= 0) times.push(Number(process.hrtime.bigint() - t) / 1e3 / rows);
          } finally {
            db.exec('ROLLBACK');
          }
        }
        if (r === repeat - 1) {
          results.push({ label: v.label, us: median(times) });
          process.stderr.write(`index-cost: ${v.label}: ${median(times).toFixed(1)} µs/row\n`);
        }
      }
    } finally {
      db.close();
    }
  }

  const base = results[0]!.us;
  process.stdout.write(`\n${url ? 'PostgreSQL' : `SQLite`}: insert into ${TABLE}, ${rows} rows in one transaction${url ? '' : ` (each in a savepoint, the commit's flush every ${group})`}, median of ${repeat}\n\n`);
  process.stdout.write('| dropped | µs per row | saves |\n|---|---:|---:|\n');
  for (const r of results) process.stdout.write(`| ${r.label} | ${r.us.toFixed(1)} | ${r === results[0] ? '' : `${(base - r.us).toFixed(1)} µs (${(((base - r.us) / base) * 100).toFixed(0)} %)`} |\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ArgError ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
