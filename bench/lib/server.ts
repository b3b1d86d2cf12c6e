/**
 * The calbridge server as a child process of the benchmark: `node --import tsx src/server.ts` spawned directly with
 * process.execPath (no npm/tsx wrapper process, so the child PID is the Node process that serves), on 127.0.0.1 and a
 * free port; readiness polling, a bearer token, /proc readings (peak RSS, CPU time) and a bounded SIGTERM stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const HOST = '127.0.0.1';
export const CALENDARS_PATH = '/api/spaces/coworkermsofficecalendars';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface ProcessServerOptions {
  /** Working directory of the server. */
  cwd: string;
  /** Node arguments: flags, then the entry script (relative to cwd) and its arguments. */
  args: string[];
  /** The entry script: the spawned PID must be a Node process running it (not a wrapper). */
  entry: string;
  port: number;
  env: Record<string, string | undefined>;
  /** Any HTTP answer on this path means the server listens. */
  readyPath: string;
  startTimeoutMs?: number;
}

export interface ServerOptions {
  /** Repository root: the server runs from here. */
  root: string;
  /** SQLite: the database file. */
  databaseFile?: string;
  /** PostgreSQL: the server gets DATABASE_URL (its pool size from DATABASE_POOL_SIZE, default 10). */
  databaseUrl?: string;
  port: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  /** Server entry, relative to root: a .ts file runs through `--import tsx`, a .js file (a build) runs as is. */
  entry?: string;
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

export interface RunningServer {
  pid: number;
  port: number;
  proc: ChildProcess;
  startMs: number;
  logTail(): string;
  stop(): Promise<number | null>;
}

/** Every server this process started and has not seen exit: stopped on SIGINT/errors/exit. */
export const liveServers = new Set<RunningServer>();

/** calbridge as `npm start` runs it (`node <its flags> dist/src/server.js`) on 127.0.0.1, throttling off, quiet logs, the given database. */
export function startServer(options: ServerOptions): Promise<RunningServer> {
  if (!options.databaseFile === !options.databaseUrl) throw new Error('startServer: give either databaseFile or databaseUrl');
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(options.port),
    HOST,
    // Exactly one database: an inherited DATABASE_URL must not turn a SQLite run into a PostgreSQL one, or the reverse.
    DATABASE_FILE: options.databaseFile,
    DATABASE_URL: options.databaseUrl,
    THROTTLE_LIMIT: '0',
    SYNC_ENGINE: 'off', // the REST API alone: no in-process Graph emulator or sync jobs in the measurement
    LOG_LEVEL: 'warn',
    LOG_REQUESTS: 'false',
    ...options.env,
  };
  // The seeded file has its administrator; never let an inherited setting create or reject one.
  delete env.ADMIN_EMAIL;
  delete env.ADMIN_PASSWORD;
  delete env.DATA_DIR;
  const entry = options.entry ?? 'dist/src/server.js';
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return startProcessServer({
    cwd: options.root,
    args: [...(options.nodeFlags ?? []), ...startScriptFlags(options.root), ...loader, entry],
    entry,
    port: options.port,
    env,
    readyPath: `${CALENDARS_PATH}/1`,
    startTimeoutMs: options.startTimeoutMs,
  });
}

export async function startProcessServer(options: ProcessServerOptions): Promise<RunningServer> {
  const t0 = Date.now();
  const proc = spawn(process.execPath, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => {
    log += chunk.toString();
    if (log.length > 64_000) log = log.slice(-32_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));

  const server: RunningServer = {
    pid: proc.pid!,
    port: options.port,
    proc,
    startMs: 0,
    logTail: () => log.slice(-4000),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        liveServers.delete(server);
        return proc.exitCode;
      }
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000); // calbridge itself gives up after 10 s
      const code = await exited;
      clearTimeout(killer);
      liveServers.delete(server);
      return code;
    },
  };
  liveServers.add(server);
  void exited.then(() => liveServers.delete(server));

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  while (Date.now() < t0 + timeoutMs) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the server exited during start-up:\n${server.logTail()}`);
    if (await answers(options.port, options.readyPath)) {
      server.startMs = Date.now() - t0;
      assertServingNode(server.pid, options.entry);
      return server;
    }
    await sleep(100);
  }
  await server.stop();
  throw new Error(`the server did not answer within ${timeoutMs / 1000} s:\n${server.logTail()}`);
}

/** Any HTTP answer (a 401 without credentials is fine) means it listens. */
async function answers(port: number, readyPath: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${HOST}:${port}${readyPath}`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/** Peak RSS must be read from the Node process running src/server.ts, not from a wrapper. */
function assertServingNode(pid: number, entry: string): void {
  const exe = fs.readlinkSync(`/proc/${pid}/exe`);
  const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (path.basename(exe) !== path.basename(fs.realpathSync(process.execPath)) || !cmdline.includes(entry)) {
    throw new Error(`PID ${pid} is not the Node server process (exe ${exe}, argv ${cmdline.join(' ')})`);
  }
}

export async function getToken(port: number, email: string, password: string): Promise<string> {
  const res = await fetch(`http://${HOST}:${port}/api/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: email, password, client_id: 'calbridge-bench' }).toString(),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`POST /api/token answered ${res.status}: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** One authenticated request that waits its turn behind whatever the server still has queued. */
export async function drain(port: number, token: string, collection = CALENDARS_PATH, timeoutMs = 120_000): Promise<number> {
  const t0 = Date.now();
  const res = await fetch(`http://${HOST}:${port}${collection}/1`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer();
  return Date.now() - t0;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds of a process (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** CPU seconds of the main (JavaScript) thread and of all other threads (checkpointer worker, libuv pool, GC, ...). */
export function threadCpuSeconds(pid: number): { main: number; others: number } {
  let all = 0;
  let main = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const s = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      all += s;
      if (Number(tid) === pid) main = s;
    } catch {
      // the thread ended between readdir and read
    }
  }
  return { main, others: all - main };
}

/** A field of /proc/<pid>/status in kB, e.g. VmHWM (peak resident set size). */
export function statusKb(pid: number, key: string): number {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  if (!m) throw new Error(`no ${key} in /proc/${pid}/status`);
  return Number(m[1]);
}

export interface MachineCpu {
  idle: number;
  total: number;
}

export function machineCpu(): MachineCpu {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: fields[3]! + fields[4]!, total: fields.reduce((a, b) => a + b, 0) };
}

export function busyPercent(a: MachineCpu, b: MachineCpu): number {
  const total = b.total - a.total;
  return total > 0 ? +(100 * (1 - (b.idle - a.idle) / total)).toFixed(1) : 0;
}

/** The Node flags `npm start` passes (package.json `scripts.start`, e.g. the heap bounds): the bench runs the server as it runs. */
export function startScriptFlags(root: string): string[] {
  const start = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start ?? '';
  const words = start.trim().split(/\s+/);
  const node = words.indexOf('node');
  return node < 0 ? [] : words.slice(node + 1).filter((w) => w.startsWith('--'));
}
