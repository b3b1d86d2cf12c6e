/**
 * npm run bench -- [--rows 1000000] [--duration 10] [--warmup 3] [--connections 50] [--reuse] [--only get,post,resource,name]
 *                  [--with-reference] [--tool wrk|autocannon] [--loop-monitor] [--cpu-prof <dir>] [--file <db>] [--entry <file>]
 *                  [--pg-cluster]
 * DATABASE_URL=postgres://... npm run bench -- [...]     the same on PostgreSQL (seeded with COPY; the server gets DATABASE_URL)
 *
 * Seeds a database (SQLite, or PostgreSQL when DATABASE_URL is set or --pg-cluster starts a throwaway cluster; or reuses
 * one with --reuse), then for each case starts the real server as a child process
 * (`node --import tsx src/server.ts`, THROTTLE_LIMIT=0, LOG_LEVEL=warn, LOG_REQUESTS=false, 127.0.0.1, a free port),
 * gets a bearer token from POST /api/token, checks a few requests of the case answer 2xx, warms up, waits for the
 * backlog to drain, measures with wrk (or autocannon when wrk is missing), reads the server's peak RSS (VmHWM) and
 * stops it with SIGTERM. Rows created by the POST case are deleted afterwards, so every run reads the same data.
 * With --with-reference the reference kit's bare Fastify server (SQLite or PostgreSQL, as calbridge) runs each case
 * right after calbridge.
 * Prints Markdown tables and appends one JSON line per run to bench/results/runs.jsonl.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { ArgError, intArg, parseArgs, usage, type OptionSpec } from './lib/args.js';
import { CALBRIDGE, CASES, REFERENCE, selectCases, type BenchCase, type Flavor } from './lib/cases.js';
import { runLoad, stopLoaders, wrkVersion, type LoadResult, type LoadTool } from './lib/load.js';
import { readSeedInfo, seed } from './lib/seeder.js';
import { seedPostgres } from './lib/pg-seeder.js';
import {
  describeUrl, readPgSeedInfo, restorePgSeededRows, serverInfo, startBenchCluster, walPositionMb, BENCH_CLUSTER_SETTINGS, type PgCluster, type PgServerInfo,
} from './lib/pg.js';
import {
  prepareReference, prepareReferencePg, restoreReference, restoreReferencePg, startReference, type ReferenceSetup,
} from './lib/reference.js';
import {
  HOST, busyPercent, cpuSeconds, drain, threadCpuSeconds, freePort, getToken, liveServers, machineCpu, startServer, statusKb, type RunningServer,
} from './lib/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WRK_DIR = path.join(ROOT, 'bench', 'wrk');
const RESULTS = path.join(ROOT, 'bench', 'results', 'runs.jsonl');

const SPEC: Record<string, OptionSpec> = {
  rows: { value: true, help: 'calendar records to seed (default 1000000)' },
  duration: { value: true, help: 'measured seconds per case (default 10)' },
  warmup: { value: true, help: 'warm-up seconds per case, not measured (default 3)' },
  connections: { value: true, help: 'concurrent connections (default 50)' },
  reuse: { value: false, help: 'reuse the seeded file, or the seeded PostgreSQL database, if there is one (else seed it)' },
  only: { value: true, help: `cases, comma-separated: ${CASES.map((c) => `${c.letter}|${c.id}`).join(', ')}` },
  file: { value: true, help: 'SQLite database file (default ./data/bench.db); with DATABASE_URL set, PostgreSQL is used instead' },
  'pg-cluster': { value: false, help: 'when DATABASE_URL is not set: run on a throwaway PostgreSQL cluster (scripts/pg-cluster.mjs), removed at the end' },
  tool: { value: true, help: 'wrk or autocannon (default: wrk when installed)' },
  'server-root': { value: true, help: 'directory holding the server sources (default: this repository); for trying changes in a scratch copy' },
  entry: { value: true, help: 'server entry (default dist/src/server.js, built first, as npm start runs it; src/server.ts runs through tsx)' },
  'loop-monitor': { value: false, help: 'preload bench/lib/loop-monitor.mjs: event-loop delay, GC pauses and server-side request time of the measured run' },
  'with-reference': { value: false, help: 'also measure the reference kit\'s bare Fastify server (c-fastify-sqlite.js, or d-fastify-pg.js on PostgreSQL), case by case' },
  'cpu-prof': { value: true, help: 'directory: run the server with node --cpu-prof and write its profiles there' },
  help: { value: false, help: 'show this help' },
};

/** What the service should reach on this 2-core machine (from the reference kit's measurements). */
const TARGETS: Record<BenchCase['id'], { minRps?: number; maxP99Ms?: number }> = {
  get: { minRps: 12_000, maxP99Ms: 10 },
  post: { minRps: 3_000, maxP99Ms: 30 },
  resource: { minRps: 2_500 },
  name: { maxP99Ms: 100 },
};
/**
 * On PostgreSQL: 0.9x of what the reference kit's bare Fastify + pg server (d-fastify-pg.js) reached on this machine
 * (GET 5.0k, POST 2.7k, Resource filter 1.7k req/s), and the same p99 bound for the Name substring case.
 * With --with-reference, 0.9x of the reference's req/s in the same run is checked as well (REFERENCE_RATIO).
 */
const TARGETS_PG: Record<BenchCase['id'], { minRps?: number; maxP99Ms?: number }> = {
  get: { minRps: 4_500 },
  post: { minRps: 2_430 },
  resource: { minRps: 1_530 },
  name: { maxP99Ms: 100 },
};
const REFERENCE_RATIO: { cases: BenchCase['id'][]; min: number } = { cases: ['get', 'post', 'resource'], min: 0.9 };
const MAX_RSS_MB = 250;

interface CaseRecord {
  server: Target['name'];
  case: string;
  id: BenchCase['id'];
  label: string;
  rps: number;
  requests: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  non2xx: number;
  socket_errors: number;
  timeouts: number;
  peak_rss_mb: number;
  /** VmRSS once the server answered its first requests (before any load). */
  start_rss_mb: number;
  server_cpu_s: number;
  server_cpu_ms_per_req: number;
  /** The main thread's share: JavaScript and every synchronous SQLite call. */
  main_thread_cpu_ms_per_req: number;
  /** SQLite: WAL file size right after the measured run (the checkpointer works behind the writes). */
  wal_mb: number;
  /** PostgreSQL: WAL the cluster wrote during the measured run. */
  pg_wal_written_mb?: number;
  machine_busy_pct: number;
  server_start_ms: number;
  drain_ms: number;
  /** SQLite: the database read into the OS page cache before the server started (warmPageCache). */
  page_cache_warm?: { mb: number; ms: number };
  probe: string;
  /** With --loop-monitor: event-loop delay and GC pauses during the measured run. */
  monitor?: unknown;
  targets_met: boolean;
  misses: string[];
}

/** A server under test: calbridge, or the reference kit's server. */
interface Target {
  name: 'calbridge' | 'reference';
  flavor: Flavor;
  /** SQLite: the database file (its -wal file is measured). */
  dbFile?: string;
  /** PostgreSQL: the database URL (the WAL written during the run is measured). */
  pgUrl?: string;
  start(port: number, nodeFlags: string[], env: Record<string, string>): Promise<RunningServer>;
  token(port: number): Promise<string>;
  /** Removes rows a writing case added; returns how many. */
  restore(): Promise<number>;
  /** Checked against TARGETS (calbridge only). */
  evaluate: boolean;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The --pg-cluster cluster, stopped and deleted by cleanup() (or, last resort, on exit). */
let cluster: PgCluster | undefined;
function stopCluster(): void {
  const c = cluster;
  cluster = undefined;
  if (!c) return;
  try {
    c.stop();
    process.stdout.write('bench: the throwaway PostgreSQL cluster is stopped and removed\n');
  } catch (err) {
    process.stderr.write(`bench: stopping the PostgreSQL cluster failed: ${(err as Error).message}\n`);
  }
}

let cleaningUp = false;
async function cleanup(): Promise<void> {
  if (cleaningUp) return;
  cleaningUp = true;
  stopLoaders();
  await Promise.all([...liveServers].map((s) => s.stop()));
  stopCluster();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}: stopping the server and the load generator\n`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.once('exit', () => {
  // Last resort if something skipped cleanup(): never leave a server behind.
  for (const s of liveServers) s.proc.kill('SIGTERM');
  stopLoaders();
  stopCluster(); // synchronous (pg_ctl stop -m fast), so it still runs here
});

/** SQLite: deletes what the POST case (or an interrupted run) added, so the data is the seeded data again. */
function restoreSeededRows(file: string, rows: number): number {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 10000');
    const removed = db.transaction(() => {
      // The FTS triggers remove the deleted names from the trigram index.
      const r = db.prepare('DELETE FROM coworker_ms_office_calendars WHERE id > ?').run(rows);
      db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'coworker_ms_office_calendars' AND seq > ?").run(rows, rows);
      // Each create queued a subscribe job (the seeded data has none); ids are reused, so stale ones would collide.
      db.prepare('DELETE FROM jobs').run();
      return r.changes;
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    return removed;
  } finally {
    db.close();
  }
}

/**
 * SQLite: reads the database file (and its WAL) once from start to end, so both servers of a case start with their
 * data in the OS page cache. This machine's memory reclaim (DAMON `pageout`) evicts file pages nobody touched for a
 * while, and without this the figures depended on which pages it had evicted since the file was last used: the same
 * GET measured 0.48 of the reference with 58 % of calbridge's file resident and 0.70 with all of it.
 */
function warmPageCache(file: string): { mb: number; ms: number } {
  const t0 = performance.now();
  const buf = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  for (const f of [file, `${file}-wal`]) {
    if (!fs.existsSync(f)) continue;
    const fd = fs.openSync(f, 'r');
    try {
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) bytes += n;
    } finally {
      fs.closeSync(fd);
    }
  }
  return { mb: bytes / 2 ** 20, ms: performance.now() - t0 };
}

/** A few requests of the case through fetch: they must answer 2xx, or the measurement would be of error paths. */
async function probe(c: BenchCase, port: number, token: string, rows: number, flavor: Flavor): Promise<string> {
  const notes: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = c.next(rows, flavor);
    const res = await fetch(`http://${HOST}:${port}${r.path}`, {
      method: r.method,
      headers: { authorization: `Bearer ${token}`, ...(r.body ? { 'content-type': 'application/json' } : {}) },
      body: r.body,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new Error(`probe ${r.method} ${r.path} answered ${res.status}: ${text.slice(0, 500)}`);
    if ((c.id === 'resource' || c.id === 'name') && flavor === CALBRIDGE) {
      const body = JSON.parse(text) as { TotalItems: number; Records: unknown[] };
      notes.push(`${decodeURIComponent(r.path.split('?')[1] ?? '')} -> ${body.Records.length} of ${fmtInt(body.TotalItems)}`);
    }
  }
  return notes.join('; ');
}

function gitRevision(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', timeout: 5000 }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8', timeout: 5000 }).stdout.trim();
  return head ? `${head}${dirty ? '+dirty-src' : ''}` : 'unknown';
}

async function runCase(c: BenchCase, target: Target, ctx: {
  rows: number; tool: LoadTool; connections: number; durationS: number; warmupS: number;
  cpuProfDir?: string;
  entry?: string;
  loopMonitor: boolean;
}): Promise<CaseRecord> {
  const port = await freePort();
  const monitorFile = path.join(os.tmpdir(), `calbridge-bench-monitor-${process.pid}-${target.name}-${c.id}.json`);
  const monitorFlags = ctx.loopMonitor ? ['--import', path.join(ROOT, 'bench', 'lib', 'loop-monitor.mjs')] : [];
  const snapshot = async (): Promise<unknown> => {
    fs.rmSync(monitorFile, { force: true });
    process.kill(server.pid, 'SIGUSR2');
    for (let i = 0; i < 50 && !fs.existsSync(monitorFile); i++) await sleep(20);
    try {
      return JSON.parse(fs.readFileSync(monitorFile, 'utf8')) as unknown;
    } catch {
      return undefined;
    } finally {
      fs.rmSync(monitorFile, { force: true });
    }
  };
  // One directory per case: every thread (main, loader hooks, checkpointer) writes its own CPU.*.<pid>.<tid>.* file.
  const profDir = ctx.cpuProfDir && path.join(ctx.cpuProfDir, `${c.letter}-${c.id}${target.name === 'reference' ? '-reference' : ''}`);
  const nodeFlags = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const warmed = target.dbFile ? warmPageCache(target.dbFile) : undefined;
  const server: RunningServer = await target.start(port, [...nodeFlags, ...monitorFlags], ctx.loopMonitor ? { BENCH_MONITOR_FILE: monitorFile } : {});
  try {
    const token = await target.token(port);
    const startRssMb = statusKb(server.pid, 'VmRSS') / 1024;
    const probeNote = await probe(c, port, token, ctx.rows, target.flavor);
    const load = { port, token, rows: ctx.rows, connections: ctx.connections, wrkDir: WRK_DIR, flavor: target.flavor };
    if (ctx.warmupS > 0) await runLoad(ctx.tool, c, { ...load, durationS: ctx.warmupS });
    const drainMs = await drain(port, token, target.flavor.collection);
    const pgWal0 = target.pgUrl ? await walPositionMb(target.pgUrl) : 0;
    if (ctx.loopMonitor) await snapshot(); // start the window here
    const cpu0 = cpuSeconds(server.pid);
    const t0 = threadCpuSeconds(server.pid);
    const m0 = machineCpu();
    const r: LoadResult = await runLoad(ctx.tool, c, { ...load, durationS: ctx.durationS });
    const cpu1 = cpuSeconds(server.pid);
    const t1 = threadCpuSeconds(server.pid);
    const m1 = machineCpu();
    const monitor = ctx.loopMonitor ? await snapshot() : undefined;
    const walMb = target.dbFile && fs.existsSync(`${target.dbFile}-wal`) ? fs.statSync(`${target.dbFile}-wal`).size / 2 ** 20 : 0;
    const pgWalMb = target.pgUrl ? (await walPositionMb(target.pgUrl)) - pgWal0 : undefined;
    const peakRssMb = statusKb(server.pid, 'VmHWM') / 1024;
    if (server.proc.exitCode !== null) throw new Error(`the server exited during the case:\n${server.logTail()}`);

    const misses: string[] = [];
    const t = (target.pgUrl ? TARGETS_PG : TARGETS)[c.id];
    if (target.evaluate) {
      if (t.minRps !== undefined && r.rps < t.minRps) misses.push(`req/s ${fmtInt(r.rps)} < ${fmtInt(t.minRps)}`);
      if (t.maxP99Ms !== undefined && r.p99Ms >= t.maxP99Ms) misses.push(`p99 ${r.p99Ms.toFixed(1)} ms >= ${t.maxP99Ms} ms`);
      if (peakRssMb >= MAX_RSS_MB) misses.push(`peak RSS ${peakRssMb.toFixed(0)} MB >= ${MAX_RSS_MB} MB`);
      if (r.non2xx || r.socketErrors) misses.push(`${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
    }
    return {
      server: target.name,
      case: `${c.letter}`,
      id: c.id,
      label: c.label,
      rps: +r.rps.toFixed(1),
      requests: r.requests,
      p50_ms: +r.p50Ms.toFixed(2),
      p90_ms: +r.p90Ms.toFixed(2),
      p99_ms: +r.p99Ms.toFixed(2),
      max_ms: +r.maxMs.toFixed(2),
      non2xx: r.non2xx,
      socket_errors: r.socketErrors,
      timeouts: r.timeouts,
      peak_rss_mb: +peakRssMb.toFixed(1),
      start_rss_mb: +startRssMb.toFixed(1),
      server_cpu_s: +(cpu1 - cpu0).toFixed(2),
      server_cpu_ms_per_req: r.requests ? +((1000 * (cpu1 - cpu0)) / r.requests).toFixed(3) : 0,
      main_thread_cpu_ms_per_req: r.requests ? +((1000 * (t1.main - t0.main)) / r.requests).toFixed(3) : 0,
      wal_mb: +walMb.toFixed(1),
      ...(pgWalMb !== undefined ? { pg_wal_written_mb: +pgWalMb.toFixed(1) } : {}),
      machine_busy_pct: busyPercent(m0, m1),
      server_start_ms: server.startMs,
      drain_ms: drainMs,
      ...(warmed ? { page_cache_warm: { mb: Math.round(warmed.mb), ms: Math.round(warmed.ms) } } : {}),
      probe: probeNote,
      ...(monitor ? { monitor } : {}),
      targets_met: misses.length === 0,
      misses,
    };
  } finally {
    const code = await server.stop();
    if (code !== 0) log(`bench: note: the server exited with ${code} on SIGTERM\n${server.logTail()}`);
  }
}

function table(records: CaseRecord[]): string {
  const lines = [
    '| case | req/s | p50 ms | p99 ms | non-2xx | peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of records) {
    const errors = r.socket_errors ? ` (+${r.socket_errors} socket errors)` : '';
    lines.push(`| ${r.case}) ${r.label} | ${fmtInt(r.rps)} | ${r.p50_ms.toFixed(2)} | ${r.p99_ms.toFixed(2)} | ${r.non2xx}${errors} | ${r.peak_rss_mb.toFixed(0)} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), SPEC);
  if (args.has('help')) {
    log(usage('npm run bench --', SPEC));
    return;
  }
  const durationS = intArg(args, 'duration', 10);
  const warmupS = intArg(args, 'warmup', 3, 0);
  const connections = intArg(args, 'connections', 50);
  const file = path.resolve(String(args.get('file') ?? path.join(ROOT, 'data', 'bench.db')));
  let cases: BenchCase[];
  try {
    cases = selectCases(typeof args.get('only') === 'string' ? String(args.get('only')) : undefined);
  } catch (err) {
    throw new ArgError((err as Error).message);
  }
  const toolArg = args.get('tool');
  const wrk = wrkVersion();
  let tool: LoadTool;
  if (toolArg === undefined) tool = wrk ? 'wrk' : 'autocannon';
  else if (toolArg === 'wrk' || toolArg === 'autocannon') tool = toolArg;
  else throw new ArgError('--tool must be wrk or autocannon');
  if (tool === 'wrk' && !wrk) throw new ArgError('wrk is not installed (apt-get install -y wrk), use --tool autocannon');
  const serverRoot = typeof args.get('server-root') === 'string' ? path.resolve(String(args.get('server-root'))) : ROOT;
  // What `npm start` runs: the compiled build (built here first, incremental); `--entry src/server.ts` runs the sources through tsx.
  const entry = typeof args.get('entry') === 'string' ? String(args.get('entry')) : 'dist/src/server.js';
  if (entry.startsWith('dist/')) {
    log(`bench: building ${serverRoot}/dist (npm run build)`);
    const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: serverRoot, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed');
  }
  const cpuProfDir = typeof args.get('cpu-prof') === 'string' ? path.resolve(String(args.get('cpu-prof'))) : undefined;
  if (cpuProfDir) fs.mkdirSync(cpuProfDir, { recursive: true });

  // PostgreSQL: DATABASE_URL, else a throwaway cluster with --pg-cluster; else SQLite.
  const envUrl = process.env.DATABASE_URL?.trim() || undefined;
  if (envUrl && !/^postgres(ql)?:\/\//.test(envUrl)) throw new ArgError('DATABASE_URL must be a postgres:// or postgresql:// URL');
  if (envUrl && args.has('file')) throw new ArgError('--file names a SQLite file, but DATABASE_URL is set (PostgreSQL); unset one of them');
  if (envUrl && args.has('pg-cluster')) log('bench: DATABASE_URL is set: using it, --pg-cluster ignored');
  const usesPg = Boolean(envUrl) || args.has('pg-cluster');
  const poolSize = process.env.DATABASE_POOL_SIZE?.trim() || '10';

  // Everything is bounded: a stuck step ends the run (and the cleanup stops the server).
  const budgetS = (usesPg ? 1500 : 900) + cases.length * (durationS + warmupS + 180);
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: gave up after ${budgetS} s\n`);
    void cleanup().finally(() => process.exit(1));
  }, budgetS * 1000);
  watchdog.unref();

  let pgUrl = envUrl;
  if (usesPg && !pgUrl) {
    if (args.has('reuse')) log('bench: --reuse: a fresh --pg-cluster holds nothing yet, seeding it');
    log(`bench: starting a throwaway PostgreSQL cluster (${Object.entries(BENCH_CLUSTER_SETTINGS).map(([k, v]) => `${k}=${v}`).join(', ')})`);
    cluster = await startBenchCluster(ROOT);
    pgUrl = cluster.url;
  }
  const pgInfo: PgServerInfo | undefined = pgUrl ? await serverInfo(pgUrl) : undefined;
  if (pgUrl && pgInfo) {
    log(`bench: PostgreSQL ${pgInfo.version} at ${describeUrl(pgUrl)}${cluster ? ' (throwaway cluster)' : ''}: ` +
      `${Object.entries(pgInfo.settings).map(([k, v]) => `${k}=${v}`).join(', ')}; server pool DATABASE_POOL_SIZE=${poolSize}`);
  }

  // 1. Data.
  let rows: number;
  let seeded: { totalRowsPerSec: number; insertRowsPerSec: number; seconds: { total: number } } | undefined;
  let creds: { email: string; password: string };
  const info = pgUrl ? undefined : readSeedInfo(file);
  if (pgUrl) {
    const pgSeed = args.has('reuse') ? await readPgSeedInfo(pgUrl) : undefined;
    if (pgSeed) {
      rows = pgSeed.rows;
      if (args.has('rows') && intArg(args, 'rows', rows) !== rows) {
        throw new ArgError(`the database holds ${fmtInt(rows)} seeded rows, not ${fmtInt(intArg(args, 'rows', rows))}; drop --reuse to seed anew`);
      }
      const removed = await restorePgSeededRows(pgUrl, rows);
      log(`bench: reusing the seeded PostgreSQL database (${fmtInt(rows)} calendar rows, seeded ${pgSeed.seededAt}` +
        `${removed ? `; removed ${fmtInt(removed)} rows left by an earlier run` : ''})`);
      creds = pgSeed;
    } else {
      rows = intArg(args, 'rows', 1_000_000);
      if (args.has('reuse') && !cluster) log('bench: --reuse: no finished benchmark seed in this database yet, seeding one');
      const result = await seedPostgres({ url: pgUrl, rows });
      seeded = result;
      creds = result;
    }
  } else if (args.has('reuse') && info && fs.existsSync(file)) {
    rows = info.rows;
    if (args.has('rows') && intArg(args, 'rows', rows) !== rows) {
      throw new ArgError(`${file} holds ${fmtInt(rows)} seeded rows, not ${fmtInt(intArg(args, 'rows', rows))}; drop --reuse to seed anew`);
    }
    const removed = restoreSeededRows(file, rows);
    log(`bench: reusing ${file} (${fmtInt(rows)} calendar rows, seeded ${info.seededAt}${removed ? `; removed ${fmtInt(removed)} rows left by an earlier run` : ''})`);
  } else {
    rows = intArg(args, 'rows', 1_000_000);
    if (args.has('reuse')) log(`bench: --reuse: no seeded database at ${file} yet, seeding one`);
    seeded = await seed({ file, rows });
  }
  if (!pgUrl) {
    const fromFile = readSeedInfo(file);
    if (!fromFile) throw new Error(`no ${file}.seed.json next to the database`);
    creds = fromFile;
  }

  // 2. Servers under test.
  const calbridge: Target = {
    name: 'calbridge',
    flavor: CALBRIDGE,
    ...(pgUrl ? { pgUrl } : { dbFile: file }),
    start: (port, nodeFlags, env) => startServer({ root: serverRoot, ...(pgUrl ? { databaseUrl: pgUrl } : { databaseFile: file }), port, nodeFlags, entry, env }),
    token: (port) => getToken(port, creds.email, creds.password),
    restore: async () => (pgUrl ? restorePgSeededRows(pgUrl, rows) : restoreSeededRows(file, rows)),
    evaluate: true,
  };
  const targets: Target[] = [calbridge];
  let ref: ReferenceSetup | undefined;
  if (args.has('with-reference')) {
    const r = pgUrl ? await prepareReferencePg(ROOT, pgUrl, rows, log) : prepareReference(ROOT, rows, args.has('reuse'), log);
    ref = r;
    targets.push({
      name: 'reference',
      flavor: REFERENCE,
      ...(r.kind === 'postgres' ? { pgUrl: r.url } : { dbFile: r.file }),
      start: (port, nodeFlags, env) => startReference(r, port, nodeFlags, env),
      token: async () => r.token,
      restore: async () => (r.kind === 'postgres' ? restoreReferencePg(r, rows) : restoreReference(r.file, rows)),
      evaluate: false,
    });
  }

  // 3. Cases, each server back to back per case.
  log(`bench: ${cases.length} case(s) x ${targets.map((t) => t.name).join(' + ')}, ${connections} connections, ${warmupS} s warm-up + ` +
    `${durationS} s measured each, load tool ${tool === 'wrk' ? `wrk ${wrk} (-t1)` : 'autocannon (in-process)'}`);
  const records: CaseRecord[] = [];
  for (const c of cases) {
    for (const target of targets) {
      const who = `${c.letter}) ${c.label}${target.name === 'reference' ? ' [reference]' : ''}`;
      log(`bench: ${who}: starting a fresh server`);
      const rec = await runCase(c, target, { rows, tool, connections, durationS, warmupS, cpuProfDir, loopMonitor: args.has('loop-monitor') });
      records.push(rec);
      log(`bench: ${who}: ${fmtInt(rec.rps)} req/s, p50 ${rec.p50_ms} ms, p90 ${rec.p90_ms} ms, p99 ${rec.p99_ms} ms, max ${rec.max_ms} ms, non-2xx ${rec.non2xx}, ` +
        `peak RSS ${rec.peak_rss_mb} MB (${rec.start_rss_mb} MB after start), ${rec.page_cache_warm ? `page cache warmed (${rec.page_cache_warm.mb} MB in ${rec.page_cache_warm.ms} ms), ` : ''}server CPU ${rec.server_cpu_ms_per_req} ms/req (main thread ${rec.main_thread_cpu_ms_per_req}), ` +
        `${rec.pg_wal_written_mb !== undefined ? `WAL written ${rec.pg_wal_written_mb} MB` : `WAL ${rec.wal_mb} MB`}, box busy ${rec.machine_busy_pct}%${rec.monitor ? `, loop/GC ${JSON.stringify(rec.monitor)}` : ''}${rec.probe ? ` [probe: ${rec.probe}]` : ''}`);
      if (c.writes) log(`bench: ${who}: removed the ${fmtInt(await target.restore())} rows it created`);
      await sleep(500);
    }
  }

  // 4. Report.
  const toolText = tool === 'wrk' ? `wrk ${wrk} -t1 -c${connections}` : `autocannon -c${connections} (in-process)`;
  const mine = records.filter((r) => r.server === 'calbridge');
  const theirs = records.filter((r) => r.server === 'reference');
  if (pgUrl) {
    // On PostgreSQL the targets are relative to the bare Fastify + pg server: with it in the run, check the ratio too.
    for (const m of mine) {
      const t = theirs.find((r) => r.id === m.id);
      if (!t || !REFERENCE_RATIO.cases.includes(m.id) || t.rps <= 0) continue;
      if (m.rps / t.rps < REFERENCE_RATIO.min) {
        m.misses.push(`req/s ${(m.rps / t.rps).toFixed(2)}x the reference's in this run < ${REFERENCE_RATIO.min.toFixed(2)}x`);
        m.targets_met = false;
      }
    }
  }
  const dbText = pgUrl && pgInfo
    ? `PostgreSQL ${pgInfo.version}${cluster ? ' (throwaway cluster)' : ''}, fsync ${pgInfo.settings.fsync}, synchronous_commit ${pgInfo.settings.synchronous_commit}, ` +
      `shared_buffers ${pgInfo.settings.shared_buffers}, pool ${poolSize}`
    : 'SQLite';
  log(`\n## calbridge benchmark: ${fmtInt(rows)} calendar rows, ${dbText}, ${toolText}, ${warmupS} s warm-up + ${durationS} s per case, server ${entry}\n`);
  log(table(mine));
  log('');
  if (seeded) {
    log(`Seeding: ${fmtInt(seeded.totalRowsPerSec)} calendar rows/s overall (${pgUrl ? 'COPY' : 'insert phase'} ${fmtInt(seeded.insertRowsPerSec)} rows/s, ` +
      `${seeded.seconds.total} s in all).`);
  }
  const misses = mine.flatMap((r) => r.misses.map((m) => `${r.case}) ${r.label}: ${m}`));
  log(misses.length ? `Targets missed:\n${misses.map((m) => `- ${m}`).join('\n')}` : 'All targets met.');
  if (ref) {
    log(ref.kind === 'postgres'
      ? `\n### reference server (bench-reference servers/d-fastify-pg.js, pg pool ${poolSize}, table ${ref.file}), same run\n`
      : '\n### reference server (bench-reference servers/c-fastify-sqlite.js, SQLite WAL NORMAL), same run\n');
    log(table(theirs));
    log('\n### calbridge / reference\n');
    log('| case | req/s ratio | p50 ratio | p99 ratio | peak RSS ratio |');
    log('|---|---:|---:|---:|---:|');
    for (const m of mine) {
      const t = theirs.find((r) => r.id === m.id);
      if (!t) continue;
      const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '–');
      log(`| ${m.case}) ${m.label} | ${ratio(m.rps, t.rps)} | ${ratio(m.p50_ms, t.p50_ms)} | ${ratio(m.p99_ms, t.p99_ms)} | ${ratio(m.peak_rss_mb, t.peak_rss_mb)} |`);
    }
  }

  const run = {
    at: new Date().toISOString(),
    git: gitRevision(),
    node: process.version,
    host: { cpus: os.cpus().length, loadavg: os.loadavg().map((n) => +n.toFixed(2)) },
    tool: toolText,
    entry,
    server_root: path.relative(ROOT, serverRoot) || '.',
    database: pgUrl ? { kind: 'postgres', url: describeUrl(pgUrl), cluster: Boolean(cluster), pool: Number(poolSize), ...pgInfo } : { kind: 'sqlite', file },
    rows,
    connections,
    duration_s: durationS,
    warmup_s: warmupS,
    seed: seeded ?? null,
    reference: ref ? { file: ref.file, load: ref.load ?? null } : null,
    cases: records,
  };
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.appendFileSync(RESULTS, `${JSON.stringify(run)}\n`);
  log(`\nbench: appended this run to ${path.relative(process.cwd(), RESULTS)}`);
}

main().then(
  async () => {
    await cleanup();
    process.exit(0);
  },
  async (err) => {
    await cleanup();
    if (err instanceof ArgError) {
      process.stderr.write(`bench: ${err.message}\n${usage('npm run bench --', SPEC)}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
