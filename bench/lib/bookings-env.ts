/**
 * The environment of `npm run bench:bookings`: the Graph emulator started in the benchmark process (HTTPS on a free
 * loopback port, default settings: Outlook throttling on, 4 requests in flight and 10,000 per 10 minutes per mailbox),
 * and calbridge as its own process (`node --import tsx src/server.ts`, the `npm start` entry) pointed at it with
 * app credentials, on SQLite in a fresh temporary directory or on a fresh PostgreSQL database. Also: a keep-alive API
 * client with a bearer token, read-only database probes for diagnostics (counts the API does not show), and the
 * server-side request timer preloaded into calbridge (bench/lib/request-timer.mjs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Pool } from 'undici';
import { EMULATOR_CA_PATH, startGraphEmulator, type GraphEmulator, type GraphEmulatorOptions } from '../../emulator/index.js';
import { HOST, cpuSeconds, freePort, getToken, startProcessServer, statusKb, type RunningServer } from './server.js';
import { ident, withClient } from './pg.js';
import { startHttpsFront } from '../../test/helpers/https-front.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DOMAIN = 'contoso.onmicrosoft.com';
const ADMIN_EMAIL = 'bench@bookings.local';
const ADMIN_PASSWORD = `bench-${randomBytes(9).toString('base64url')}`;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const log = (line: string) => process.stderr.write(`${line}\n`);

export interface TimerKind { count: number; p50: number; p99: number; max: number; non2xx: number }
export interface TimerSnapshot {
  loopDelayMs: { p50: number; p99: number; max: number };
  gc: { count: number; totalMs: number; maxMs: number };
  heapUsedMb: number;
  requests: Record<'notifications' | 'lifecycle' | 'validation' | 'bookings' | 'other', TimerKind | null>;
}

/** Counts the API does not give: read straight from calbridge's database (read-only; diagnostics only). */
export interface DbProbe {
  count(sql: string): Promise<number>;
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

export interface ApiAnswer { status: number; body: any }

export interface BenchEnv {
  emu: GraphEmulator;
  tenantId: string;
  server: RunningServer;
  url: string;
  database: string;
  api(method: string, p: string, body?: unknown): Promise<ApiAnswer>;
  /** GET that must answer 200. */
  get(p: string): Promise<any>;
  db: DbProbe;
  /** Starts a new measurement window of the preloaded request timer. */
  timerReset(): Promise<void>;
  /** What the request timer gathered since the last reset (and starts a new window). */
  timerSnapshot(): Promise<TimerSnapshot | null>;
  cpuSeconds(): number;
  peakRssMb(): number;
  logTail(): string;
  close(): Promise<void>;
}

export interface EnvOptions {
  label: string;
  /** A PostgreSQL server URL (superuser, e.g. the throwaway cluster): a fresh database is made for this run. */
  pgServerUrl?: string;
  emulator?: GraphEmulatorOptions;
  /** Extra environment for calbridge (none by default: the service's defaults). */
  env?: Record<string, string>;
  /** Extra node flags for calbridge (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Every Graph request (not the identity endpoints) waits this long in the emulator before it is answered. */
  graphLatencyMs?: number;
}

/** The environment shared by every case: emulator in-process, calbridge as its own process. */
export async function startEnv(o: EnvOptions): Promise<BenchEnv> {
  const clientSecret = `bench-${randomBytes(8).toString('hex')}`;
  const emu = await startGraphEmulator({ port: 0, host: HOST, requestLogLimit: 400_000, deliveryLogLimit: 100_000, ...o.emulator });
  const seed = emu.control.seed({ clientSecret });
  // A delay fault that never runs out: holds the request's Outlook concurrency slot meanwhile, as a slow Graph would.
  if (o.graphLatencyMs) emu.control.addFault({ pathRegex: '^/v1\\.0/', delayMs: o.graphLatencyMs, times: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `calbridge-bench-bookings-${o.label}-`));
  const timerFile = path.join(dir, 'request-timer.json');
  let databaseUrl: string | undefined;
  let dbName: string | undefined;
  if (o.pgServerUrl) {
    dbName = `calbridge_bookings_${o.label.replace(/[^a-z0-9]/gi, '_')}_${randomBytes(3).toString('hex')}`;
    await withClient(o.pgServerUrl, (c) => c.query(`CREATE DATABASE ${ident(dbName!)}`));
    const u = new URL(o.pgServerUrl);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  }
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  // With Microsoft credentials (here the emulator's) PUBLIC_URL must be https: a TLS front takes the webhooks, as the
  // reverse proxy does in production (it adds well under a millisecond per delivery).
  const front = await startHttpsFront(url);
  const databaseFile = path.join(dir, 'calbridge.db');
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port), HOST, PUBLIC_URL: front.url, DATA_DIR: dir,
    DATABASE_FILE: databaseUrl ? undefined : databaseFile, DATABASE_URL: databaseUrl,
    // The service's defaults for everything that shapes the sync (SYNC_DELAY_MS 1000, queue, horizon, ...), except:
    // no API throttling (the setup creates thousands of records through the API with one token) and quiet logs, as
    // the other benchmarks run it.
    THROTTLE_LIMIT: '0', LOG_LEVEL: 'warn', LOG_REQUESTS: 'false', SYNC_ENGINE: 'on',
    ADMIN_EMAIL, ADMIN_PASSWORD,
    GRAPH_TENANT_ID: seed.tenant.id, GRAPH_CLIENT_ID: seed.app.clientId, GRAPH_CLIENT_SECRET: clientSecret,
    GRAPH_AUTHORITY_HOST: emu.url, GRAPH_BASE_URL: emu.url,
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'), NODE_EXTRA_CA_CERTS: EMULATOR_CA_PATH,
    BENCH_TIMER_FILE: timerFile,
    ...o.env,
  };
  for (const k of ['SYNC_DELAY_MS', 'RECONCILE_INTERVAL_MINUTES', 'BOOKING_HORIZON_PAST_DAYS', 'BOOKING_HORIZON_FUTURE_DAYS', 'DATABASE_POOL_SIZE', 'SCRYPT_COST']) {
    if (!o.env?.[k]) delete env[k]; // an inherited setting must not change the service's defaults
  }
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  let server: RunningServer;
  try {
    server = await startProcessServer({
      cwd: ROOT,
      args: [...(o.nodeFlags ?? []), '--import', path.join(ROOT, 'bench', 'lib', 'request-timer.mjs'), '--import', 'tsx', 'src/server.ts'],
      entry: 'src/server.ts', port, env, readyPath: '/healthz', startTimeoutMs: 90_000,
    });
  } catch (err) {
    await front.close();
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const token = await getToken(port, ADMIN_EMAIL, ADMIN_PASSWORD);
  const pool = new Pool(url, { connections: 16, pipelining: 1, keepAliveTimeout: 30_000 });
  const api = async (method: string, p: string, body?: unknown): Promise<ApiAnswer> => {
    const res = await pool.request({
      path: p, method: method as 'GET', headersTimeout: 60_000, bodyTimeout: 60_000,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.statusCode, body: parsed };
  };
  const get = async (p: string) => {
    const r = await api('GET', p);
    if (r.status !== 200) throw new Error(`GET ${p} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 500)}`);
    return r.body;
  };
  const db = databaseUrl ? pgProbe(databaseUrl) : sqliteProbe(databaseFile);
  const signalTimer = async (): Promise<TimerSnapshot | null> => {
    try {
      fs.rmSync(timerFile, { force: true });
      process.kill(server.pid, 'SIGUSR2');
      for (let i = 0; i < 100; i++) {
        if (fs.existsSync(timerFile)) {
          await sleep(20);
          return JSON.parse(fs.readFileSync(timerFile, 'utf8')) as TimerSnapshot;
        }
        await sleep(20);
      }
    } catch {
      /* the server is gone */
    }
    return null;
  };
  let closed = false;
  return {
    emu, tenantId: seed.tenant.id, server, url, database: databaseUrl ? `PostgreSQL (${dbName})` : 'SQLite',
    api, get, db,
    timerReset: async () => void (await signalTimer()),
    timerSnapshot: signalTimer,
    cpuSeconds: () => cpuSeconds(server.pid),
    peakRssMb: () => Math.round(statusKb(server.pid, 'VmHWM') / 1024),
    logTail: () => server.logTail(),
    async close() {
      if (closed) return;
      closed = true;
      await db.close().catch(() => {});
      await pool.close().catch(() => {});
      await server.stop();
      await front.close();
      await emu.close();
      if (o.pgServerUrl && dbName) {
        await withClient(o.pgServerUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(dbName!)} WITH (FORCE)`)).catch(() => {});
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function sqliteProbe(file: string): DbProbe {
  let db: Database.Database | undefined;
  const open = () => (db ??= new Database(file, { readonly: true, fileMustExist: true }));
  return {
    async count(sql) {
      return Number((open().prepare(sql).get() as { n: number }).n);
    },
    async rows<T>(sql: string) {
      return open().prepare(sql).all() as T[];
    },
    async close() {
      db?.close();
    },
  };
}

function pgProbe(url: string): DbProbe {
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'calbridge-bench-probe' });
  return {
    async count(sql) {
      return Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);
    },
    async rows<T>(sql: string) {
      return (await pool.query(sql)).rows as T[];
    },
    async close() {
      await pool.end();
    },
  };
}

/** Runs fn over items with at most `limit` at once (bounded: items.length calls). */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Polls until fn answers true, printing progress now and then; false when the time ran out. */
export async function pollUntil(what: string, fn: () => Promise<boolean | string>, o: { timeoutMs: number; everyMs?: number; progressMs?: number }): Promise<boolean> {
  const deadline = Date.now() + o.timeoutMs;
  let lastProgress = Date.now();
  for (;;) {
    const r = await fn();
    if (r === true) return true;
    if (typeof r === 'string' && Date.now() - lastProgress >= (o.progressMs ?? 5000)) {
      log(`  ${what}: ${r}`);
      lastProgress = Date.now();
    }
    if (Date.now() > deadline) return false;
    await sleep(o.everyMs ?? 250);
  }
}

export interface Summary { n: number; p50: number; p95: number; p99: number; max: number; mean: number }

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const pct = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return { n: s.length, p50: pct(50), p95: pct(95), p99: pct(99), max: s.at(-1) ?? NaN, mean };
}

export const fmtMs = (v: number) => (Number.isFinite(v) ? (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`) : 'n/a');
export const fmtS = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'n/a');

/** An emulator event body: a one-hour (or `minutes`) meeting in UTC, optionally inviting a room. */
export function meeting(subject: string, startMs: number, room?: string, minutes = 60) {
  const at = (ms: number) => ({ dateTime: new Date(ms).toISOString().slice(0, 19), timeZone: 'UTC' });
  return {
    subject, start: at(startMs), end: at(startMs + minutes * 60_000), showAs: 'busy',
    ...(room ? { attendees: [{ type: 'resource', emailAddress: { address: room, name: room.split('@')[0] } }] } : {}),
  };
}

/** Midnight UTC of the day after today: slot times are counted from here (inside the −1 … +180 day horizon). */
export function tomorrowUtc(): number {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}
