/**
 * Builds a PostgreSQL benchmark database: the real migrations (openPostgres + migrate), a full administrator created
 * through the real UserService, then 10,000 resources, 50,000 coworkers and N calendar records streamed in with COPY
 * (pg-copy-streams). The same rows as the SQLite seeder (lib/synth.ts). This is a loader, not the API.
 *
 * Speed: before each table's COPY its secondary indexes, UNIQUE constraints and foreign keys are dropped, and afterwards
 * recreated from the exact definitions PostgreSQL reports for what the migration created (pg_indexes.indexdef,
 * pg_get_constraintdef); the primary key stays. The calendar table is truncated and loaded in one transaction with
 * COPY ... FREEZE (rows written frozen and all-visible: no later hint-bit or vacuum pass rewrites the table). Then the
 * identity sequences are set past the loaded ids, VACUUM (ANALYZE), and a CHECKPOINT when the role may.
 * Checks: every index and constraint is back with an identical definition; row counts; for each search term the
 * pg_trgm GIN index finds the same rows as a sequential scan.
 *
 * Safety: only an empty schema or one this seeder marked (calbridge_bench.seed_info) is replaced.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { composeServices } from '../../src/composition-root.js';
import { migrate, openPostgres } from '../../src/storage/database.js';
import { MARKER_SCHEMA, MARKER_TABLE, describeUrl, ident, type PgSeedInfo } from './pg.js';
import { DEFAULT_ADMIN } from './seeder.js';
import { CALENDAR_COLUMNS, COWORKERS, NAME_TERMS, RESOURCES, calendarRow } from './synth.js';

export interface PgSeedOptions {
  url: string;
  rows: number;
  email?: string;
  password?: string;
  log?: (line: string) => void;
}

export interface PgSeedResult {
  database: string;
  rows: number;
  email: string;
  password: string;
  /** Calendar rows per second over the COPY alone. */
  insertRowsPerSec: number;
  /** Calendar rows per second over the whole seed (wipe, migrations, user, COPY, indexes, vacuum, checks). */
  totalRowsPerSec: number;
  seconds: { wipe: number; migrate: number; admin: number; insert: number; indexes: number; vacuum: number; checks: number; total: number };
  /** pg_total_relation_size of the calendar table (heap + indexes + TOAST). */
  calendarTableMb: number;
  databaseMb: number;
  nameCounts: Record<string, number>;
  checkpoint: string;
}

const CAL = 'coworker_ms_office_calendars';
/** The trigram index Name substrings use on PostgreSQL (migration 014: on the stored lowercase name). */
const NAME_TRGM = `${CAL}_name_lower_trgm`;
const secondsSince = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** COPY text format: \N for NULL; backslash, tab, newline and carriage return escaped. */
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
function copyField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (ch) => ESCAPES[ch]!) : s;
}

interface SchemaObjects {
  /** Indexes not backing a constraint: name -> CREATE INDEX ... (pg_indexes.indexdef), and the statistics targets the
   *  migrations set on their columns (ALTER INDEX ... SET STATISTICS; a DROP INDEX loses them). */
  indexes: { name: string; def: string; statistics: { column: number; target: number }[] }[];
  /** UNIQUE and FOREIGN KEY constraints: name -> definition (pg_get_constraintdef). The primary key is not touched. */
  constraints: { name: string; type: 'u' | 'f'; def: string }[];
  /** Every index and constraint of the table, for the before/after comparison. */
  all: string[];
}

async function schemaObjects(c: pg.Client, schema: string, table: string): Promise<SchemaObjects> {
  const rel = `${ident(schema)}.${ident(table)}`;
  const indexes = (await c.query<{ name: string; def: string; constraint_type: string | null }>(
    `SELECT x.indexname AS name, x.indexdef AS def,
            (SELECT k.contype::text FROM pg_constraint k
              WHERE k.conindid = format('%I.%I', x.schemaname, x.indexname)::regclass AND k.conrelid = $3::regclass
                AND k.contype IN ('p', 'u', 'x')) AS constraint_type
       FROM pg_indexes x WHERE x.schemaname = $1 AND x.tablename = $2 ORDER BY x.indexname`,
    [schema, table, rel])).rows;
  const constraints = (await c.query<{ name: string; type: string; def: string }>(
    `SELECT conname AS name, contype::text AS type, pg_get_constraintdef(oid) AS def
       FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY conname`, [rel])).rows;
  const targets = (await c.query<{ index: string; column: number; target: number }>(
    `SELECT i.relname AS index, a.attnum AS column, a.attstattarget AS target FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_attribute a ON a.attrelid = i.oid
      WHERE x.indrelid = $1::regclass AND a.attstattarget > 0`, [rel])).rows;
  return {
    indexes: indexes.filter((i) => i.constraint_type === null)
      .map(({ name, def }) => ({ name, def, statistics: targets.filter((t) => t.index === name).map(({ column, target }) => ({ column, target })) })),
    constraints: constraints.filter((k) => k.type === 'u' || k.type === 'f').map((k) => ({ name: k.name, type: k.type as 'u' | 'f', def: k.def })),
    all: [...indexes.map((i) => `index ${i.name}: ${i.def}`), ...targets.map((t) => `statistics ${t.index}.${t.column}: ${t.target}`), ...constraints.map((k) => `constraint ${k.name} (${k.type}): ${k.def}`)].sort(),
  };
}

async function dropSecondary(c: pg.Client, table: string, o: SchemaObjects): Promise<void> {
  // Foreign keys first (a UNIQUE constraint could be what one references), then UNIQUE constraints, then indexes.
  for (const k of [...o.constraints].sort((a, b) => (a.type === b.type ? 0 : a.type === 'f' ? -1 : 1))) {
    await c.query(`ALTER TABLE ${ident(table)} DROP CONSTRAINT ${ident(k.name)}`);
  }
  for (const ix of o.indexes) await c.query(`DROP INDEX ${ident(ix.name)}`);
}

async function recreateSecondary(c: pg.Client, table: string, o: SchemaObjects): Promise<void> {
  for (const ix of o.indexes) {
    await c.query(ix.def);
    for (const st of ix.statistics) await c.query(`ALTER INDEX ${ident(ix.name)} ALTER COLUMN ${st.column} SET STATISTICS ${st.target}`);
  }
  for (const k of o.constraints.filter((x) => x.type === 'u')) await c.query(`ALTER TABLE ${ident(table)} ADD CONSTRAINT ${ident(k.name)} ${k.def}`);
  for (const k of o.constraints.filter((x) => x.type === 'f')) await c.query(`ALTER TABLE ${ident(table)} ADD CONSTRAINT ${ident(k.name)} ${k.def}`);
}

/** Streams rows 1..count of `rowAt` into `table` with COPY FROM STDIN (text format). */
async function copyRows(c: pg.Client, table: string, columns: readonly string[], count: number, rowAt: (i: number) => unknown[],
  options: { freeze?: boolean; progress?: (done: number) => void } = {}): Promise<void> {
  const text = `COPY ${ident(table)} (${columns.map(ident).join(', ')}) FROM STDIN${options.freeze ? ' WITH (FREEZE)' : ''}`;
  function* chunks(): Generator<Buffer> {
    let buf = '';
    for (let i = 1; i <= count; i++) {
      const row = rowAt(i);
      let line = copyField(row[0]);
      for (let j = 1; j < row.length; j++) line += `\t${copyField(row[j])}`;
      buf += `${line}\n`;
      if (i % 2000 === 0) {
        yield Buffer.from(buf);
        buf = '';
        options.progress?.(i);
      }
    }
    if (buf) yield Buffer.from(buf);
  }
  await pipeline(Readable.from(chunks()), c.query(copyFrom(text)));
}

/**
 * Empties calbridge's schema when it may: nothing in it, or the marker of an earlier benchmark seed. Leaves the marker
 * saying "seeding" so that a failed seed is replaced next time, never reused.
 */
async function wipe(c: pg.Client, url: string, rows: number, email: string, log: (line: string) => void): Promise<string> {
  const schema = (await c.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]!.s;
  if (!schema) throw new Error(`${describeUrl(url)}: no current schema (search_path names no existing schema)`);
  if (schema === MARKER_SCHEMA) throw new Error(`${describeUrl(url)}: the current schema must not be ${MARKER_SCHEMA}`);
  const tables = (await c.query<{ n: string }>(`SELECT tablename AS n FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [schema])).rows.map((r) => r.n);
  const sequences = (await c.query<{ n: string }>(
    `SELECT c.relname AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relkind = 'S' ORDER BY 1`,
    [schema])).rows.map((r) => r.n);
  const marked = (await c.query<{ t: string | null }>(`SELECT to_regclass('${MARKER_TABLE}')::text AS t`)).rows[0]!.t !== null;
  if ((tables.length || sequences.length) && !marked) {
    throw new Error(`${describeUrl(url)}: schema "${schema}" already holds ${tables.length} table(s) (${tables.slice(0, 8).join(', ')}` +
      `${tables.length > 8 ? ', ...' : ''}) and is not a calbridge benchmark database (no ${MARKER_TABLE}). The benchmark replaces ` +
      'everything in its database: point DATABASE_URL at an empty one (e.g. createdb calbridge_bench), or use --pg-cluster.');
  }
  if (tables.length || sequences.length) log(`seed: replacing the earlier benchmark data in schema "${schema}" (${tables.length} tables)`);
  await c.query('BEGIN');
  for (const t of tables) await c.query(`DROP TABLE IF EXISTS ${ident(schema)}.${ident(t)} CASCADE`);
  for (const s of sequences) await c.query(`DROP SEQUENCE IF EXISTS ${ident(schema)}.${ident(s)} CASCADE`);
  // The migrations' own functions (calbridge_*) go too, or the next migrate() would find them.
  const functions = (await c.query<{ f: string }>(`SELECT p.oid::regprocedure::text AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = $1 AND p.proname LIKE 'calbridge\_%'`, [schema])).rows.map((r) => r.f);
  for (const f of functions) await c.query(`DROP FUNCTION IF EXISTS ${f} CASCADE`);
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${MARKER_SCHEMA}`);
  await c.query(`DROP TABLE IF EXISTS ${MARKER_TABLE}`);
  await c.query(`CREATE TABLE ${MARKER_TABLE} (id integer PRIMARY KEY CHECK (id = 1), state text NOT NULL, rows integer NOT NULL,
    email text NOT NULL, password text NOT NULL, seeded_at text NOT NULL, result jsonb)`);
  await c.query(`INSERT INTO ${MARKER_TABLE} (id, state, rows, email, password, seeded_at) VALUES (1, 'seeding', $1, $2, '', $3)`,
    [rows, email, new Date().toISOString()]);
  await c.query('COMMIT');
  return schema;
}

export async function seedPostgres(options: PgSeedOptions): Promise<PgSeedResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const { url, rows } = options;
  const email = options.email ?? DEFAULT_ADMIN.email;
  const password = options.password ?? DEFAULT_ADMIN.password;
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer (got ${rows})`);
  const tAll = process.hrtime.bigint();

  const c = new pg.Client({ connectionString: url, application_name: 'calbridge-bench-seed' });
  await c.connect();
  try {
    // 0. An empty (or earlier benchmark) database.
    let t = process.hrtime.bigint();
    const schema = await wipe(c, url, rows, email, log);
    const wipeS = secondsSince(t);

    // 1. The real schema and a real administrator, through the application's own code.
    t = process.hrtime.bigint();
    const storage = openPostgres({ url, poolSize: 2 });
    let applied: string[];
    let migrateS: number;
    let adminS: number;
    try {
      applied = await migrate(storage);
      migrateS = secondsSince(t);
      t = process.hrtime.bigint();
      const container = composeServices(storage, { scryptCost: 16384 });
      await container.userService.create(
        { Email: email, Password: password, FullName: 'Benchmark administrator', FullAdministrator: true },
        { userId: 0, email: 'seed' },
      );
      adminS = secondsSince(t);
    } finally {
      await storage.close();
    }
    const version = (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
    log(`seed: PostgreSQL ${version} at ${describeUrl(url)} (schema "${schema}"): migrations ${applied.join(', ')} applied; ` +
      `full administrator ${email} created`);

    // 2. Loader session: its own commits need not wait for fsync (a failed load is thrown away); big sort memory for
    //    the index builds.
    await c.query(`SET synchronous_commit = off`);
    await c.query(`SET maintenance_work_mem = '512MB'`);
    const objects: Record<string, SchemaObjects> = {};
    for (const table of ['resources', 'coworkers', CAL]) objects[table] = await schemaObjects(c, schema, table);
    const calObjects = objects[CAL]!;
    if (!calObjects.indexes.some((i) => i.name === NAME_TRGM && /USING gin \(name_lower gin_trgm_ops\)/.test(i.def))) {
      throw new Error(`the migrations did not create the pg_trgm GIN index ${NAME_TRGM}; found: ${calObjects.indexes.map((i) => i.def).join('; ')}`);
    }

    const now = new Date().toISOString();
    t = process.hrtime.bigint();
    for (const [table, count, columns, rowAt] of [
      ['resources', RESOURCES, ['id', 'unique_id', 'created_on', 'updated_on', 'updated_by', 'is_new', 'name', 'calendar_email'],
        (i: number) => [i, randomUUID(), now, now, 'seed', 1, `Room ${i}`, `room${i}@bench.calbridge.local`]],
      ['coworkers', COWORKERS, ['id', 'unique_id', 'created_on', 'updated_on', 'updated_by', 'is_new', 'full_name', 'email'],
        (i: number) => [i, randomUUID(), now, now, 'seed', 1, `Member ${i}`, `member${i}@bench.calbridge.local`]],
    ] as const) {
      await c.query('BEGIN');
      await dropSecondary(c, table, objects[table]!);
      await copyRows(c, table, columns, count, rowAt);
      await recreateSecondary(c, table, objects[table]!);
      await c.query('COMMIT');
    }
    log(`seed: ${fmt(RESOURCES)} resources and ${fmt(COWORKERS)} coworkers in ${secondsSince(t).toFixed(2)} s (COPY, indexes rebuilt)`);

    // 3. Calendar records: truncated and loaded in one transaction, so COPY may write them frozen.
    const tInsert = process.hrtime.bigint();
    let lastReport = tInsert;
    let reported = 0;
    const progress = (done: number) => {
      const nowNs = process.hrtime.bigint();
      if ((Number(nowNs - lastReport) < 1e9 && done !== rows) || done === reported) return;
      reported = done;
      const s = Number(nowNs - tInsert) / 1e9;
      log(`seed: ${fmt(done).padStart(11)} / ${fmt(rows)} calendar rows  ${fmt(done / s).padStart(9)} rows/s`);
      lastReport = nowNs;
    };
    await c.query('BEGIN');
    // Tables that reference the calendar table (graph_connections, bookings, booking conflicts: empty in the seed)
    // must be named in the same TRUNCATE.
    const referencing = (await c.query<{ t: string }>(
      `SELECT DISTINCT conrelid::regclass::text AS t FROM pg_constraint WHERE contype = 'f' AND confrelid = $1::regclass`, [CAL])).rows.map((r) => r.t);
    await c.query(`TRUNCATE ${[ident(CAL), ...referencing].join(', ')}`);
    await dropSecondary(c, CAL, calObjects);
    await copyRows(c, CAL, CALENDAR_COLUMNS, rows, calendarRow, { freeze: true, progress });
    await c.query('COMMIT');
    progress(rows);
    const insertS = secondsSince(tInsert);

    // 4. Indexes and constraints back, exactly as the migration defined them; sequences past the loaded ids.
    t = process.hrtime.bigint();
    await c.query('BEGIN');
    await recreateSecondary(c, CAL, calObjects);
    await c.query('COMMIT');
    for (const [table, last] of [['resources', RESOURCES], ['coworkers', COWORKERS], [CAL, rows]] as const) {
      await c.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), $2)`, [`${ident(schema)}.${ident(table)}`, last]);
    }
    const indexesS = secondsSince(t);
    log(`seed: ${calObjects.indexes.length} secondary indexes and ${calObjects.constraints.length} constraints of ${CAL} rebuilt in ` +
      `${indexesS.toFixed(2)} s (${calObjects.indexes.map((i) => i.name.replace(`${CAL}_`, '')).join(', ')})`);

    t = process.hrtime.bigint();
    for (const table of ['resources', 'coworkers', CAL]) await c.query(`VACUUM (ANALYZE) ${ident(table)}`);
    let checkpoint = 'done';
    try {
      await c.query('CHECKPOINT'); // the load's dirty pages written now, not during the first measured case
    } catch (err) {
      checkpoint = `skipped: ${(err as Error).message}`;
    }
    const vacuumS = secondsSince(t);
    log(`seed: VACUUM (ANALYZE) in ${vacuumS.toFixed(2)} s; CHECKPOINT ${checkpoint}`);

    // 5. Checks.
    t = process.hrtime.bigint();
    for (const table of ['resources', 'coworkers', CAL]) {
      const after = await schemaObjects(c, schema, table);
      const before = objects[table]!.all;
      const missing = before.filter((x) => !after.all.includes(x));
      const extra = after.all.filter((x) => !before.includes(x));
      if (missing.length || extra.length) throw new Error(`${table}: indexes/constraints differ after the load: missing ${missing.join('; ')}; extra ${extra.join('; ')}`);
    }
    const count = async (text: string, ...params: unknown[]) => Number((await c.query<{ n: number }>(text, params)).rows[0]!.n);
    const counts = { resources: await count('SELECT count(*) AS n FROM resources'), coworkers: await count('SELECT count(*) AS n FROM coworkers'),
      [CAL]: await count(`SELECT count(*) AS n FROM ${CAL}`) };
    if (counts.resources !== RESOURCES || counts.coworkers !== COWORKERS || counts[CAL] !== rows) {
      throw new Error(`row counts ${JSON.stringify(counts)}, expected ${RESOURCES} resources, ${COWORKERS} coworkers, ${rows} calendars`);
    }
    const nameCounts: Record<string, number> = {};
    for (const term of NAME_TERMS) {
      const like = `%${term}%`;
      await c.query('BEGIN');
      await c.query('SET LOCAL enable_seqscan = off');
      const plan = (await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT count(*) FROM ${CAL} WHERE name_lower LIKE $1`, [like])).rows
        .map((r) => r['QUERY PLAN']).join('\n');
      const viaIndex = await count(`SELECT count(*) AS n FROM ${CAL} WHERE name_lower LIKE $1`, like);
      await c.query('ROLLBACK');
      if (!plan.includes(NAME_TRGM)) throw new Error(`the trigram index is not used for "${term}":\n${plan}`);
      await c.query('BEGIN');
      for (const s of ['enable_indexscan', 'enable_bitmapscan', 'enable_indexonlyscan']) await c.query(`SET LOCAL ${s} = off`);
      const viaScan = await count(`SELECT count(*) AS n FROM ${CAL} WHERE name_lower LIKE $1`, like);
      await c.query('ROLLBACK');
      if (viaIndex !== viaScan) throw new Error(`the trigram index finds ${viaIndex} rows for "${term}", a sequential scan ${viaScan}`);
      nameCounts[term] = viaIndex;
    }
    const checksS = secondsSince(t);
    log(`seed: checks passed in ${checksS.toFixed(2)} s: indexes and constraints identical, ${fmt(rows)} rows; name matches (trigram index = ` +
      `sequential scan) ${NAME_TERMS.map((term) => `${term} ${fmt(nameCounts[term]!)} (${((100 * nameCounts[term]!) / rows).toFixed(2)}%)`).join(', ')}`);

    const totalS = secondsSince(tAll);
    const calendarTableMb = (await count(`SELECT pg_total_relation_size($1::regclass) AS n`, `${ident(schema)}.${ident(CAL)}`)) / 2 ** 20;
    const databaseMb = (await count('SELECT pg_database_size(current_database()) AS n')) / 2 ** 20;
    const result: PgSeedResult = {
      database: describeUrl(url),
      rows,
      email,
      password,
      insertRowsPerSec: Math.round(rows / insertS),
      totalRowsPerSec: Math.round(rows / totalS),
      seconds: { wipe: +wipeS.toFixed(3), migrate: +migrateS.toFixed(3), admin: +adminS.toFixed(3), insert: +insertS.toFixed(3), indexes: +indexesS.toFixed(3),
        vacuum: +vacuumS.toFixed(3), checks: +checksS.toFixed(3), total: +totalS.toFixed(3) },
      calendarTableMb: +calendarTableMb.toFixed(1),
      databaseMb: +databaseMb.toFixed(1),
      nameCounts,
      checkpoint,
    };
    const info: PgSeedInfo = { rows, email, password, seededAt: new Date().toISOString(), result: { ...result, password: undefined } };
    await c.query(`UPDATE ${MARKER_TABLE} SET state = 'seeded', rows = $1, email = $2, password = $3, seeded_at = $4, result = $5 WHERE id = 1`,
      [info.rows, info.email, info.password, info.seededAt, JSON.stringify(info.result)]);
    log(`seed: done: ${fmt(rows)} calendar rows in ${totalS.toFixed(1)} s = ${fmt(result.totalRowsPerSec)} rows/s overall ` +
      `(COPY ${fmt(result.insertRowsPerSec)} rows/s); calendar table ${calendarTableMb.toFixed(0)} MB, database ${databaseMb.toFixed(0)} MB`);
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined); // harmless outside a transaction
    throw err;
  } finally {
    await c.end().catch(() => undefined);
  }
}
