/**
 * SQLite's trigram index of calendar names takes new records at the commit (migration 016): whatever the writes and
 * their transactions (committed, rolled back, grouped with a failing unit, outside any transaction), a search finds
 * exactly the committed records whose name has the term, nothing waits at rest, and FTS5's own check passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fc from 'fast-check';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { migrate, openSqlite } from '../../src/storage/database.js';
import { inTransaction, withTransaction, type Executor } from '../../src/storage/unit-of-work.js';
import { testDatabaseUrl } from '../helpers/database.js';
import { defer, tempDir } from '../helpers/cleanup.js';

const WORDS = ['Quist', 'Smith', 'Novak', 'Garcia', 'Jensen'];
const TERMS = ['quist', 'smith', 'novak', 'garcia', 'jensen', 'ist'];
type Op = { kind: 'insert'; name: string } | { kind: 'rename'; target: number; name: string } | { kind: 'delete'; target: number };
const nameArb = fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...WORDS)).map(([a, b]) => `${a} ${b}`);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), name: nameArb }),
  fc.record({ kind: fc.constant('rename' as const), target: fc.nat(30), name: nameArb }),
  fc.record({ kind: fc.constant('delete' as const), target: fc.nat(30) }),
);
const stepArb = fc.oneof(
  fc.record({ kind: fc.constant('alone' as const), op: opArb }),
  fc.record({ kind: fc.constant('transaction' as const), ops: fc.array(opArb, { maxLength: 6 }), commit: fc.boolean() }),
  fc.record({ kind: fc.constant('group' as const), units: fc.array(fc.record({ ops: fc.array(opArb, { maxLength: 4 }), fails: fc.boolean() }), { minLength: 1, maxLength: 5 }) }),
);

test('the name index holds exactly the committed records, whatever the transactions', { skip: !!testDatabaseUrl && 'SQLite only' }, async (ctx) => {
  const storage = openSqlite({ file: path.join(tempDir(ctx, 'calbridge-name-index-'), 'db.sqlite') });
  defer(ctx, () => storage.close());
  await migrate(storage);
  const db = storage.db;
  await sql`INSERT INTO resources (unique_id, created_on, updated_on, updated_by, is_new, name) VALUES ('r', 'x', 'x', 't', 1, 'Room')`.execute(db);
  let serial = 0;
  await fc.assert(fc.asyncProperty(fc.array(stepArb, { maxLength: 12 }), async (steps) => {
    await sql`DELETE FROM coworker_ms_office_calendars`.execute(db);
    const committed = new Map<string, string>(); // unique_id → name
    const apply = async (op: Op, into: Map<string, string>, ex: Executor) => {
      const ids = [...into.keys()];
      if (op.kind === 'insert') {
        const key = `u${++serial}`;
        await sql`INSERT INTO coworker_ms_office_calendars (unique_id, created_on, updated_on, updated_by, is_new, resource_id, name, subscription_id, calendar_id, subscription_expire_date)
          VALUES (${key}, 'x', 'x', 't', 1, 1, ${op.name}, 's', 'c', '2030-01-01T00:00:00.000Z')`.execute(ex);
        into.set(key, op.name);
      } else if (ids.length) {
        const key = ids[op.target % ids.length]!;
        if (op.kind === 'rename') {
          await sql`UPDATE coworker_ms_office_calendars SET name = ${op.name} WHERE unique_id = ${key}`.execute(ex);
          into.set(key, op.name);
        } else {
          await sql`DELETE FROM coworker_ms_office_calendars WHERE unique_id = ${key}`.execute(ex);
          into.delete(key);
        }
      }
    };
    const rollback = new Error('rolled back on purpose');
    for (const step of steps) {
      if (step.kind === 'alone') await apply(step.op, committed, db);
      else if (step.kind === 'transaction') {
        const work = new Map(committed);
        await inTransaction(db, async (trx) => {
          for (const op of step.ops) await apply(op, work, trx);
          if (!step.commit) throw rollback;
        }).then(() => replace(committed, work), (err) => assert.equal(err, rollback));
      } else {
        // Units that wait together share one commit, each in its savepoint; a failing unit is rolled back alone.
        // Each unit's writes go to the model only once it committed, in the order the units ran.
        const done: Array<Map<string, string>> = [];
        await Promise.all(step.units.map((unit) => withTransaction(db, undefined, async (trx) => {
          const work = new Map(done.length ? done[done.length - 1] : committed);
          for (const op of unit.ops) await apply(op, work, trx);
          if (unit.fails) throw rollback;
          done.push(work);
        }, { group: true }).catch((err) => assert.equal(err, rollback))));
        if (done.length) replace(committed, done[done.length - 1]!);
      }
    }
    for (const term of TERMS) {
      const found = await sql<{ unique_id: string }>`SELECT c.unique_id FROM coworker_ms_office_calendars_name_fts f JOIN coworker_ms_office_calendars c ON c.id = f.rowid
        WHERE coworker_ms_office_calendars_name_fts MATCH ${`"${term}"`} ORDER BY c.unique_id`.execute(db);
      const expected = [...committed].filter(([, name]) => name.toLowerCase().includes(term)).map(([key]) => key).sort();
      assert.deepEqual(found.rows.map((r) => r.unique_id), expected, term);
    }
    assert.deepEqual((await sql`SELECT id FROM coworker_ms_office_calendars_name_fts_pending`.execute(db)).rows, [], 'nothing waits at rest');
    await sql`INSERT INTO coworker_ms_office_calendars_name_fts(coworker_ms_office_calendars_name_fts, rank) VALUES ('integrity-check', 1)`.execute(db);
  }), { numRuns: 60 });
});

function replace(target: Map<string, string>, source: Map<string, string>): void {
  target.clear();
  for (const [k, v] of source) target.set(k, v);
}

test('records left waiting by a process that stopped before its flush are indexed at the next start', { skip: !!testDatabaseUrl && 'SQLite only' }, async (ctx) => {
  const file = path.join(tempDir(ctx, 'calbridge-name-index-start-'), 'db.sqlite');
  const first = openSqlite({ file, backgroundCheckpoints: false });
  await migrate(first);
  await first.close();
  // What a write outside a transaction leaves when the process dies before its flush: the record, and its id waiting.
  const raw = new BetterSqlite3(file);
  raw.exec(`INSERT INTO resources (unique_id, created_on, updated_on, updated_by, is_new, name) VALUES ('r', 'x', 'x', 't', 1, 'Room');
    INSERT INTO coworker_ms_office_calendars (unique_id, created_on, updated_on, updated_by, is_new, resource_id, name, subscription_id, calendar_id, subscription_expire_date)
    VALUES ('u1', 'x', 'x', 't', 1, 1, 'Ida Quistorp', 's', 'c', '2030-01-01T00:00:00.000Z');`);
  assert.equal((raw.prepare('SELECT count(*) AS n FROM coworker_ms_office_calendars_name_fts_pending').get() as { n: number }).n, 1);
  raw.close();
  const storage = openSqlite({ file, backgroundCheckpoints: false });
  defer(ctx, () => storage.close());
  await migrate(storage);
  const found = await sql<{ unique_id: string }>`SELECT c.unique_id FROM coworker_ms_office_calendars_name_fts f
    JOIN coworker_ms_office_calendars c ON c.id = f.rowid WHERE coworker_ms_office_calendars_name_fts MATCH '"quist"'`.execute(storage.db);
  assert.deepEqual(found.rows, [{ unique_id: 'u1' }]);
  assert.deepEqual((await sql`SELECT id FROM coworker_ms_office_calendars_name_fts_pending`.execute(storage.db)).rows, []);
});

/** Segments per level of the trigram index, from FTS5's structure record (rowid 10 of its %_data table). */
function segmentsPerLevel(raw: BetterSqlite3.Database): number[] {
  const block = (raw.prepare('SELECT block FROM coworker_ms_office_calendars_name_fts_data WHERE id = 10').get() as { block: Buffer }).block;
  let i = 4; // the cookie
  const v2 = block.readUInt32BE(4) === 0xff000001;
  if (v2) i += 4;
  const varint = (): number => {
    let value = 0;
    for (let k = 0; k < 9; k++) {
      const byte = block[i++]!;
      if (k === 8) return value * 256 + byte;
      value = value * 128 + (byte & 0x7f);
      if (!(byte & 0x80)) return value;
    }
    return value;
  };
  const levels = varint();
  varint(); // segments in all
  varint(); // write counter
  const perLevel: number[] = [];
  for (let level = 0; level < levels; level++) {
    varint(); // merge in progress
    const segments = varint();
    for (let s = 0; s < segments * (v2 ? 5 : 3); s++) varint();
    perLevel.push(segments);
  }
  return perLevel;
}

test('the name index is merged a little at every write, never all at once (migration 017)', { skip: !!testDatabaseUrl && 'SQLite only' }, async (ctx) => {
  const file = path.join(tempDir(ctx, 'calbridge-name-index-merge-'), 'db.sqlite');
  const storage = openSqlite({ file, backgroundCheckpoints: false });
  defer(ctx, () => storage.close());
  await migrate(storage);
  const db = storage.db;
  const raw = new BetterSqlite3(file, { readonly: true });
  defer(ctx, () => raw.close());
  assert.deepEqual(raw.prepare("SELECT v FROM coworker_ms_office_calendars_name_fts_config WHERE k = 'automerge'").get(), { v: 0 });
  await sql`INSERT INTO resources (unique_id, created_on, updated_on, updated_by, is_new, name) VALUES ('r', 'x', 'x', 't', 1, 'Room')`.execute(db);
  let most = 0;
  for (let n = 1; n <= 600; n++) {
    // One create per commit, as at light load: each commit writes a segment of its own.
    await sql`INSERT INTO coworker_ms_office_calendars (unique_id, created_on, updated_on, updated_by, is_new, resource_id, name, subscription_id, calendar_id, subscription_expire_date)
      VALUES (${`u${n}`}, 'x', 'x', 't', 1, 1, ${`Member ${n} Quist`}, 's', 'c', '2030-01-01T00:00:00.000Z')`.execute(db);
    most = Math.max(most, ...segmentsPerLevel(raw));
  }
  // FTS5 alone (automerge off, no merge steps) would let a level reach its crisis merge at 16 segments.
  assert.ok(most <= 4, `after creates a level held ${most} segments`);
  // Renames and deletes write segments through the triggers, not through the pending records: they get the step too.
  most = 0;
  for (let n = 1; n <= 600; n++) {
    if (n % 3) await sql`UPDATE coworker_ms_office_calendars SET name = ${`Member ${n} Novak`} WHERE unique_id = ${`u${n}`}`.execute(db);
    else await sql`DELETE FROM coworker_ms_office_calendars WHERE unique_id = ${`u${n}`}`.execute(db);
    most = Math.max(most, ...segmentsPerLevel(raw));
  }
  assert.ok(most <= 4, `after renames and deletes a level held ${most} segments`);
  const count = async (term: string) => (await sql<{ n: number }>`SELECT count(*) AS n FROM coworker_ms_office_calendars_name_fts
    WHERE coworker_ms_office_calendars_name_fts MATCH ${`"${term}"`}`.execute(db)).rows[0]!.n;
  assert.equal(await count('quist'), 0);
  assert.equal(await count('novak'), 400);
  await sql`INSERT INTO coworker_ms_office_calendars_name_fts(coworker_ms_office_calendars_name_fts, rank) VALUES ('integrity-check', 1)`.execute(db);
});
