/**
 * npm run bench:webhooks -- [--rate 1000] [--duration 10] [--warmup 2] [--records 20] [--max-batch 5] [--connections 32] [--pin]
 *
 * How fast calbridge acknowledges Microsoft Graph change notifications. The Graph emulator runs as its own process
 * (emulator/main.ts: seeded tenant, app and mailbox, driven through its HTTP control API, so its TLS and token work
 * does not stall this process's load generator); calbridge runs as its own process (`node --import tsx src/server.ts`, SQLite in a
 * fresh temporary directory, THROTTLE_LIMIT=0, LOG_LEVEL=warn, LOG_REQUESTS=false, 127.0.0.1, a free port) with the
 * emulator's credentials, so it makes real subscriptions (validation handshake and all) for N calendar records created
 * through its API, and its job queue really syncs the calendars while the load runs. The clientStates are then read from
 * its database (read-only), and POST /graph/notifications is driven open-loop at a fixed rate of notifications per
 * second, in batches of 1..max-batch valid items (several records per batch), over keep-alive connections. Prints the
 * acknowledgement throughput, the latency of the 202 (p50/p90/p99/max, measured from the moment a batch was due, so a
 * slow answer also delays nothing unseen), the notifications persisted (rows in graph_notifications), the sync rounds
 * that ran, and the server's CPU time per notification. Target (the issue): 202 in p99 < 50 ms at 1,000 notifications/s.
 * With --pin (Linux, taskset, 2+ CPUs) calbridge gets CPU 1 to itself and the emulator and this process share CPU 0,
 * as when Graph and the senders are other machines; without it all three share every CPU.
 *
 * Bounded: a watchdog stops everything after warm-up + duration + 120 s; SIGINT/SIGTERM stop the server. Only
 * 127.0.0.1 is ever targeted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { EMULATOR_CA_PATH } from '../emulator/index.js';
import { ArgError, intArg, parseArgs, usage, type OptionSpec } from './lib/args.js';
import { startHttpsFront } from '../test/helpers/https-front.js';
import { HOST, busyPercent, cpuSeconds, freePort, machineCpu, statusKb } from './lib/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGET_P99_MS = 50;
const TARGET_RATE = 1000;

const SPEC: Record<string, OptionSpec> = {
  rate: { value: true, help: `notifications per second (default ${TARGET_RATE})` },
  duration: { value: true, help: 'measured seconds (default 10)' },
  warmup: { value: true, help: 'warm-up seconds at the same rate, not measured (default 2)' },
  records: { value: true, help: 'calendar records with live subscriptions (default 20)' },
  'max-batch': { value: true, help: 'items per POST: 1..this, uniformly (default 5)' },
  connections: { value: true, help: 'keep-alive connections of the client (default 32)' },
  pin: { value: false, help: 'calbridge on CPU 1 alone, the emulator and the load generator on CPU 0 (taskset)' },
  help: { value: false, help: 'show this help' },
};

const ADMIN_EMAIL = 'bench@webhooks.local';
const ADMIN_PASSWORD = 'bench-webhooks-password';
const MAILBOX = 'adelev@contoso.onmicrosoft.com';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Target {
  recordId: number;
  subscriptionId: string;
  clientState: string;
}

const children = new Set<ChildProcess>();

function stopChild(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => c.kill('SIGKILL'), 10_000);
    c.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    c.kill(signal);
  });
}

const stopAll = (signal: NodeJS.Signals = 'SIGTERM') => Promise.all([...children].map((c) => stopChild(c, signal)));

/** `node --import tsx <entry>` as a child (through taskset when pinned: it execs, so the PID is Node's). */
function spawnNode(entry: string, env: Record<string, string | undefined>, cpu: number | null): { child: ChildProcess; output: () => string } {
  const nodeArgs = ['--import', 'tsx', entry];
  const child = cpu === null
    ? spawn(process.execPath, nodeArgs, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('taskset', ['-c', String(cpu), process.execPath, ...nodeArgs], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
  children.add(child);
  child.once('exit', () => children.delete(child));
  return { child, output: () => out };
}

async function waitFor(what: string, fn: () => Promise<boolean>, child: ChildProcess, output: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${output()}`);
    try {
      if (await fn()) return;
    } catch {
      /* not there yet */
    }
    if (Date.now() > deadline) throw new Error(`${what} did not come up:\n${output()}`);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), SPEC);
  if (args.has('help')) {
    console.log(usage('npm run bench:webhooks --', SPEC));
    return;
  }
  const rate = intArg(args, 'rate', TARGET_RATE);
  const durationS = intArg(args, 'duration', 10);
  const warmupS = intArg(args, 'warmup', 2, 0);
  const records = intArg(args, 'records', 20);
  const maxBatch = intArg(args, 'max-batch', 5);
  const connections = intArg(args, 'connections', 32);

  const pin = args.has('pin');
  if (pin) {
    if (os.cpus().length < 2) throw new ArgError('--pin needs at least 2 CPUs');
    if (spawnSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' }).status !== 0) throw new ArgError('--pin needs taskset (util-linux)');
  }

  const watchdog = setTimeout(() => {
    log('watchdog: the benchmark took too long; stopping');
    void stopAll('SIGKILL').then(() => process.exit(3));
  }, (warmupS + durationS + 120) * 1000);
  watchdog.unref();
  const onSignal = () => void stopAll().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // Graph: the emulator as its own process, driven through /_control over plain HTTP.
  const seed = { tenantId: '8c3f6d1e-5b2a-4c7e-9f10-2a4b6c8d0e1f', clientId: '5d2e4f60-7a8b-4c9d-8e0f-1a2b3c4d5e6f', clientSecret: `bench-${randomBytes(8).toString('hex')}` };
  const emuPort = await freePort();
  const emuUrl = `https://${HOST}:${emuPort}`;
  const control = `http://${HOST}:${emuPort}/_control`;
  const emulator = spawnNode('emulator/main.ts', {
    ...process.env, GRAPH_EMULATOR_PORT: String(emuPort), GRAPH_EMULATOR_HOST: HOST,
    GRAPH_EMULATOR_TENANT_ID: seed.tenantId, GRAPH_EMULATOR_CLIENT_ID: seed.clientId, GRAPH_EMULATOR_CLIENT_SECRET: seed.clientSecret,
  }, pin ? 0 : null);
  const ctl = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${control}${p}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`emulator ${method} ${p}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : ((await res.json()) as any);
  };
  await waitFor('the Graph emulator', async () => (await fetch(`${control}/state`)).ok, emulator.child, emulator.output);

  // calbridge: its own process, SQLite in a fresh directory, Graph = the emulator.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'calbridge-bench-webhooks-'));
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  // With Microsoft credentials (here the emulator's) PUBLIC_URL must be https: a TLS front takes the emulator's
  // webhooks (the validation handshakes), as the reverse proxy does in production; the load below goes to calbridge.
  const front = await startHttpsFront(url);
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port), HOST, PUBLIC_URL: front.url, DATA_DIR: dir, DATABASE_FILE: path.join(dir, 'calbridge.db'), DATABASE_URL: '',
    THROTTLE_LIMIT: '0', LOG_LEVEL: 'warn', LOG_REQUESTS: 'false', SYNC_ENGINE: 'on', SCRYPT_COST: '1024',
    ADMIN_EMAIL, ADMIN_PASSWORD,
    GRAPH_TENANT_ID: seed.tenantId, GRAPH_CLIENT_ID: seed.clientId, GRAPH_CLIENT_SECRET: seed.clientSecret,
    GRAPH_AUTHORITY_HOST: emuUrl, GRAPH_BASE_URL: emuUrl,
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'), NODE_EXTRA_CA_CERTS: EMULATOR_CA_PATH,
  };
  const server = spawnNode('src/server.ts', env, pin ? 1 : null);
  const child = server.child;
  const serverLog = server.output;
  const pid = child.pid!;

  const auth = `Basic ${Buffer.from(`${ADMIN_EMAIL}:${ADMIN_PASSWORD}`).toString('base64')}`;
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${url}${p}`, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  await waitFor('calbridge', async () => (await fetch(`${url}/healthz`)).ok, child, serverLog);
  log(`calbridge pid ${pid} at ${url} (SQLite ${env.DATABASE_FILE}); Graph emulator pid ${emulator.child.pid} at ${emuUrl}${pin ? '; pinned: calbridge CPU 1, emulator and load generator CPU 0' : ''}`);

  // N records on N calendars of one mailbox: N live subscriptions.
  const coworker = await api('POST', '/api/spaces/coworkers', { FullName: 'Adele Vance', Email: MAILBOX });
  const resource = await api('POST', '/api/spaces/resources', { Name: 'Bench room' });
  const ids: number[] = [];
  for (let i = 0; i < records; i++) {
    const calendar = await ctl('POST', `/users/${encodeURIComponent(MAILBOX)}/calendars`, { name: `Bench calendar ${i}` });
    const created = await api('POST', '/api/spaces/coworkermsofficecalendars', {
      ResourceId: resource.body.Value.Id, CoworkerId: coworker.body.Value.Id, Name: `Bench ${i}`, SubscriptionId: 'pending', CalendarId: calendar.id, SubscriptionExpireDate: '2030-01-01T00:00:00Z',
    });
    if (created.status !== 200) throw new Error(`record create failed: ${JSON.stringify(created.body)}`);
    ids.push(created.body.Value.Id);
  }
  const db = new Database(env.DATABASE_FILE!, { readonly: true, fileMustExist: true });
  const setupDeadline = Date.now() + 60_000;
  let targets: Target[] = [];
  for (;;) {
    targets = db.prepare(`SELECT g.calendar_record_id AS recordId, c.subscription_id AS subscriptionId, g.client_state AS clientState
      FROM graph_connections g JOIN coworker_ms_office_calendars c ON c.id = g.calendar_record_id
      WHERE g.state = 'active' AND g.client_state IS NOT NULL AND g.last_synced_at IS NOT NULL`).all() as Target[];
    if (targets.length === records) break;
    if (Date.now() > setupDeadline) throw new Error(`only ${targets.length} of ${records} subscriptions became active:\n${serverLog()}`);
    await sleep(200);
  }
  log(`${records} records with live Graph subscriptions (${(await ctl('GET', '/subscriptions')).length} in the emulator)`);

  const tenantId = seed.tenantId;
  const userId = ((await ctl('GET', '/users')) as Array<{ id: string; userPrincipalName: string }>).find((u) => u.userPrincipalName === MAILBOX)!.id;
  const expiry = new Date(Date.now() + 6 * 86_400_000).toISOString();
  let seq = 0;
  const item = (t: Target) => {
    const eventId = `AAMkAD-bench-${++seq}`;
    const resourcePath = `Users/${userId}/Events/${eventId}`;
    return {
      subscriptionId: t.subscriptionId, subscriptionExpirationDateTime: expiry, changeType: 'updated', resource: resourcePath,
      resourceData: { '@odata.type': '#Microsoft.Graph.Event', '@odata.id': resourcePath, '@odata.etag': `W/"${seq}"`, id: eventId },
      clientState: t.clientState, tenantId,
    };
  };

  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  interface Phase { latencies: number[]; items: number; acked: number; non202: number; errors: number; posts: number }
  const newPhase = (): Phase => ({ latencies: [], items: 0, acked: 0, non202: 0, errors: 0, posts: 0 });

  /** Open loop: batches are sent when due (rate × elapsed), whether or not earlier ones were answered. */
  async function drive(seconds: number, phase: Phase): Promise<number> {
    const inflight = new Set<Promise<void>>();
    const start = performance.now();
    const end = start + seconds * 1000;
    let dueItems = 0;
    const nextSize = () => 1 + Math.floor(Math.random() * maxBatch);
    let size = nextSize();
    while (performance.now() < end) {
      const now = performance.now();
      const owed = Math.floor(((now - start) / 1000) * rate);
      // A batch of `size` items is due when the last of them is: batches come as Graph sends them, 1..max-batch.
      for (; dueItems + size <= owed; size = nextSize()) {
        const dueAt = start + ((dueItems + size - 1) / rate) * 1000;
        dueItems += size;
        const value = Array.from({ length: size }, () => item(targets[Math.floor(Math.random() * targets.length)]!));
        const body = JSON.stringify({ value });
        const count = size;
        phase.items += count;
        phase.posts++;
        const p = pool.request({ path: '/graph/notifications', method: 'POST', headers: { 'content-type': 'application/json' }, body })
          .then(async (res) => {
            await res.body.dump();
            phase.latencies.push(performance.now() - dueAt);
            if (res.statusCode === 202) phase.acked += count;
            else phase.non202++;
          })
          .catch(() => {
            phase.errors++;
          })
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
      await sleep(2);
    }
    const sentFor = (performance.now() - start) / 1000;
    await Promise.all(inflight);
    return sentFor;
  }

  const countRows = () => Number((db.prepare('SELECT COUNT(*) AS n FROM graph_notifications').get() as { n: number }).n);
  const doneSyncs = () => Number((db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE type = 'graph.sync' AND state = 'done'").get() as { n: number }).n);

  if (warmupS > 0) {
    log(`warm-up: ${warmupS} s at ${rate} notifications/s`);
    await drive(warmupS, newPhase());
  }
  const rowsBefore = countRows();
  const syncsBefore = doneSyncs();
  const cpuBefore = cpuSeconds(pid);
  const machineBefore = machineCpu();
  log(`measuring: ${durationS} s at ${rate} notifications/s, batches of 1..${maxBatch}, ${connections} connections`);
  const measured = newPhase();
  const t0 = performance.now();
  const sentFor = await drive(durationS, measured);
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpuBefore;
  const busy = busyPercent(machineBefore, machineCpu());
  // Every acknowledged item must already be in the table (persisted before the 202).
  const persisted = countRows() - rowsBefore;
  await sleep(2000);
  const syncRounds = doneSyncs() - syncsBefore;
  const rss = statusKb(pid, 'VmHWM');

  const sorted = [...measured.latencies].sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const result = {
    rateTarget: rate,
    sentPerS: +(measured.items / sentFor).toFixed(0),
    ackedPerS: +(measured.acked / wall).toFixed(0),
    postsPerS: +(measured.posts / wall).toFixed(0),
    notifications: measured.items,
    acked: measured.acked,
    non202: measured.non202,
    errors: measured.errors,
    p50Ms: +pct(50).toFixed(2), p90Ms: +pct(90).toFixed(2), p99Ms: +pct(99).toFixed(2), maxMs: +(sorted.at(-1) ?? NaN).toFixed(2),
    persisted,
    syncRounds,
    serverCpuMsPerNotification: +((cpu * 1000) / Math.max(1, measured.items)).toFixed(3),
    serverCpuPercent: +((100 * cpu) / wall).toFixed(0),
    machineBusyPercent: busy,
    serverPeakRssMb: +(rss / 1024).toFixed(0),
    cpus: os.cpus().length,
    pinned: pin,
  };

  console.log(`
| webhook benchmark | |
|---|---|
| offered | ${rate} notifications/s in ${measured.posts} POSTs (batches of 1..${maxBatch}), ${durationS} s, ${connections} connections, ${records} subscriptions${pin ? ', pinned' : ''} |
| acknowledged (202) | ${result.ackedPerS} notifications/s (${result.postsPerS} POSTs/s); ${result.acked} of ${result.notifications} |
| latency of the 202 | p50 ${ms(result.p50Ms)}, p90 ${ms(result.p90Ms)}, p99 ${ms(result.p99Ms)}, max ${ms(result.maxMs)} |
| persisted | ${result.persisted} rows in graph_notifications (${result.persisted === result.acked ? 'every acknowledged item' : `acknowledged ${result.acked}`}) |
| not 202 / errors | ${result.non202} / ${result.errors} |
| sync rounds meanwhile | ${result.syncRounds} (calendarView/delta against the emulator, coalesced per record) |
| server CPU | ${result.serverCpuMsPerNotification} ms per notification (${result.serverCpuPercent}% of one core); machine ${busy}% busy on ${result.cpus} CPUs; peak RSS ${result.serverPeakRssMb} MB |
`);
  const ok = result.p99Ms < TARGET_P99_MS && result.ackedPerS >= rate * 0.97 && result.persisted === result.acked && result.non202 === 0 && result.errors === 0;
  console.log(ok
    ? `target met: p99 ${ms(result.p99Ms)} < ${TARGET_P99_MS} ms at ${result.ackedPerS} notifications/s, all persisted`
    : `TARGET MISSED (p99 < ${TARGET_P99_MS} ms at ${rate}/s with every acknowledged item persisted): ${JSON.stringify(result)}`);
  console.log(JSON.stringify({ bench: 'webhooks', at: new Date().toISOString(), ...result }));

  await pool.close();
  db.close();
  await stopAll();
  await front.close();
  fs.rmSync(dir, { recursive: true, force: true });
  clearTimeout(watchdog);
  if (!ok) process.exitCode = 1;
}

main().catch(async (err) => {
  if (err instanceof ArgError) {
    log(`${err.message}\n${usage('npm run bench:webhooks --', SPEC)}`);
    process.exitCode = 2;
  } else {
    log(`bench:webhooks failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  }
  await stopAll('SIGKILL');
  process.exit();
});
