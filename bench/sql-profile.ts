/**
 * Where the time of one request goes in SQL, without HTTP: runs the real services (composeServices over openSqlite)
 * against the seeded database the way each benchmark case does, and times every SQL statement they execute.
 *
 *   npx tsx bench/sql-profile.ts [--file ./data/bench.db] [--n 2000] [--only get,post,resource,name]
 *
 * The post case inserts rows and deletes them again at the end (Id above the seeded row count). Run it while no
 * benchmark server uses the file.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openSqlite } from '../src/storage/database.js';
import { composeServices } from '../src/composition-root.js';
import { listQueryParser } from '../src/core/list-query.js';
import { calendarEntity } from '../src/modules/calendars/schema.js';
import { ArgError, intArg, parseArgs, usage, type OptionSpec } from './lib/args.js';
import { CASES, selectCases, type BenchCase } from './lib/cases.js';
import { readSeedInfo } from './lib/seeder.js';

const SPEC: Record<string, OptionSpec> = {
  file: { value: true, help: 'seeded database (default ./data/bench.db)' },
  n: { value: true, help: 'operations per case (default 2000)' },
  only: { value: true, help: `cases: ${CASES.map((c) => c.id).join(', ')}` },
};

interface StatementStats {
  calls: number;
  totalNs: bigint;
  maxNs: bigint;
  lastArgs: unknown[];
}
const stats = new Map<string, StatementStats>();
let explain: BetterSqlite3.Database | undefined;

// Time every statement the app prepares: wrap the methods Kysely's SQLite driver calls.
const proto = BetterSqlite3.prototype as unknown as { prepare(this: BetterSqlite3.Database, sql: string): BetterSqlite3.Statement };
const originalPrepare = proto.prepare;
proto.prepare = function prepare(this: BetterSqlite3.Database, sqlText: string) {
  const stmt = originalPrepare.call(this, sqlText);
  for (const method of ['all', 'get', 'run', 'iterate'] as const) {
    const original = (stmt as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
    (stmt as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const t0 = process.hrtime.bigint();
      try {
        return original.apply(stmt, args);
      } finally {
        const dt = process.hrtime.bigint() - t0;
        const s = stats.get(sqlText) ?? { calls: 0, totalNs: 0n, maxNs: 0n, lastArgs: [] };
        s.lastArgs = args;
        s.calls++;
        s.totalNs += dt;
        if (dt > s.maxNs) s.maxNs = dt;
        stats.set(sqlText, s);
      }
    };
  }
  return stmt;
};

function queryOf(pathAndQuery: string): Record<string, string> {
  return Object.fromEntries(new URL(pathAndQuery, 'http://x').searchParams);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), SPEC);
  const file = path.resolve(String(args.get('file') ?? './data/bench.db'));
  const n = intArg(args, 'n', 2000);
  const info = readSeedInfo(file);
  if (!info) throw new ArgError(`${file} has no .seed.json: seed it first (npm run seed)`);
  const cases = selectCases(typeof args.get('only') === 'string' ? String(args.get('only')) : undefined);

  const storage = openSqlite({ file });
  const container = composeServices(storage, { scryptCost: 16384 });
  const parser = listQueryParser(calendarEntity.listSpec);
  explain = new BetterSqlite3(file, { readonly: true });
  const actor = { userId: 1, email: info.email };
  const token = await (async () => {
    // A real access token row, so the authenticator's lookup runs as in a request.
    const { newToken } = await import('../src/modules/users/token-repository.js');
    const t = newToken();
    await container.tokens.insertAccess(1, 'sql-profile', t, Date.now() + 3600_000);
    return t;
  })();

  const run = async (c: BenchCase) => {
    const r = c.next(info.rows);
    await container.tokens.findAccess(token);
    switch (c.id) {
      case 'get':
        await container.calendarService.get(Number(r.path.split('/').pop()));
        break;
      case 'post':
        await container.calendarService.create(JSON.parse(r.body!) as Record<string, unknown>, actor);
        break;
      default:
        await container.calendarService.list(parser.parse(queryOf(r.path)));
    }
  };

  for (const c of cases) {
    stats.clear();
    for (let i = 0; i < Math.min(200, n); i++) await run(c); // warm-up
    stats.clear();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await run(c);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const sqlMs = Number([...stats.values()].reduce((a, s) => a + s.totalNs, 0n)) / 1e6;
    process.stdout.write(`\n=== ${c.letter}) ${c.label}: ${n} operations, ${(wallMs / n).toFixed(3)} ms each in the service layer, ` +
      `of which SQL ${(sqlMs / n).toFixed(3)} ms\n`);
    for (const [sqlText, s] of [...stats].sort((a, b) => Number(b[1].totalNs - a[1].totalNs))) {
      const per = Number(s.totalNs) / s.calls / 1e6;
      process.stdout.write(`  ${(Number(s.totalNs) / 1e6 / n).toFixed(3)} ms/op  ${(s.calls / n).toFixed(2)} calls/op  ${per.toFixed(3)} ms/call  ` +
        `max ${(Number(s.maxNs) / 1e6).toFixed(1)} ms\n    ${sqlText.replace(/\s+/g, ' ').slice(0, 400)}\n`);
      if (/^\s*select/i.test(sqlText)) {
        const plan = explain!.prepare(`EXPLAIN QUERY PLAN ${sqlText}`).all(...s.lastArgs) as { detail: string }[];
        process.stdout.write(`    plan: ${plan.map((p) => p.detail).join(' | ')}\n`);
      }
    }
    if (c.writes) {
      const raw = new BetterSqlite3(file);
      raw.pragma('busy_timeout = 5000');
      const removed = raw.prepare('DELETE FROM coworker_ms_office_calendars WHERE id > ?').run(info.rows).changes;
      raw.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'coworker_ms_office_calendars' AND seq > ?").run(info.rows, info.rows);
      raw.close();
      process.stdout.write(`  (removed the ${removed} rows it created)\n`);
    }
  }
  explain.close();
  await storage.db.deleteFrom('access_tokens').where('client_id', '=', 'sql-profile').execute();
  await storage.close();
}

main().catch((err) => {
  if (err instanceof ArgError) {
    process.stderr.write(`sql-profile: ${err.message}\n${usage('npx tsx bench/sql-profile.ts', SPEC)}\n`);
    process.exit(2);
  }
  process.stderr.write(`sql-profile failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
