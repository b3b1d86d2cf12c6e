/**
 * npm run bench:bookings -- [--case event-latency|first-sync|notifications|all] [--calendars N] [--events N]
 *                           [--changes N] [--spacing-ms MS] [--duration S] [--rate N] [--rooms N] [--room-percent P]
 *                           [--seed N] [--pg]
 *
 * How fast the booking sync is, end to end: the Graph emulator runs in this process (default settings, so Outlook's
 * limits are enforced: 4 requests in flight and 10,000 per 10 minutes per mailbox), calbridge runs as its own process
 * (the `npm start` entry, src/server.ts) with the emulator's app credentials and the service's default sync settings
 * (SYNC_DELAY_MS 1000, job queue, horizon, ...), on SQLite in a fresh temporary directory or, with --pg, on a fresh
 * database of a throwaway PostgreSQL cluster (scripts/pg-cluster.mjs). Members' calendars are emulator mailboxes;
 * changes are made through the emulator's control API (the same code path as Graph writes, so notifications follow).
 * Prints figures; nothing passes or fails.
 *
 * Cases:
 *   event-latency   an event is created or moved (inviting a room) → until GET /api/spaces/bookings shows it.
 *   first-sync      N mailboxes × M events (some inviting one of a few rooms, collisions allowed) → calendar records
 *                   created through the API → until every connection is active and every booking (or conflict) exists.
 *   notifications   event changes at R/s for D s across many calendars → webhook acknowledgement times, how far the
 *                   bookings lag behind, and the counts at the end.
 *
 * Bounded: every loop has a count and a deadline, a watchdog stops everything; SIGINT/SIGTERM stop calbridge and the
 * cluster. Only 127.0.0.1 is ever used.
 */
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ArgError, intArg, parseArgs, usage, type OptionSpec } from './lib/args.js';
import { busyPercent, liveServers, machineCpu } from './lib/server.js';
import { startBenchCluster, type PgCluster } from './lib/pg.js';
import {
  DOMAIN, ROOT, forEachLimit, fmtMs, fmtS, log, meeting, pollUntil, sleep, startEnv, summarize, tomorrowUtc,
  type BenchEnv, type Summary, type TimerSnapshot,
} from './lib/bookings-env.js';
import { BookingWatcher, type Change } from './lib/booking-watcher.js';

const CASES = ['event-latency', 'first-sync', 'notifications'] as const;
type CaseName = (typeof CASES)[number];

const SPEC: Record<string, OptionSpec> = {
  case: { value: true, help: `${CASES.join(' | ')} | all (default all)` },
  calendars: { value: true, help: 'calendars (mailboxes, records): event-latency 20, first-sync 1000, notifications 200' },
  events: { value: true, help: 'events per calendar before the first sync: event-latency 2, first-sync 50, notifications 5' },
  changes: { value: true, help: 'event-latency: changes measured (default 150)' },
  'spacing-ms': { value: true, help: 'event-latency: ms between two changes (default 400; round-robin over the calendars)' },
  duration: { value: true, help: 'notifications: measured seconds (default 60)' },
  rate: { value: true, help: 'notifications: event changes per second (default 100)' },
  rooms: { value: true, help: 'first-sync: rooms the events invite (default 8)' },
  'room-percent': { value: true, help: 'first-sync: % of events that invite a room (default 10)' },
  seed: { value: true, help: 'seed of the pseudo-random event layout (default 1)' },
  pg: { value: false, help: 'PostgreSQL: a throwaway cluster (scripts/pg-cluster.mjs), a fresh database per case' },
  'graph-latency-ms': { value: true, help: 'every Graph request waits this long in the emulator (default 0: as fast as it answers)' },
  'extra-rooms': { value: true, help: 'event-latency, notifications: this many more resources with a CalendarEmail that no event invites (default 0)' },
  'wait-quiet': { value: true, help: 'before each case, wait up to this many seconds for the machine to be under 25% busy (shared machine; default 0)' },
  'cpu-prof': { value: true, help: 'run calbridge with node --cpu-prof into this directory (one sub-directory per case)' },
  help: { value: false, help: 'show this help' },
};

// ---- small helpers ---------------------------------------------------------------------------------------------------

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3_600_000;
const MAX_SLOTS = 4_000; // hour slots from tomorrow: ~166 days, inside the +180-day horizon

interface Member {
  i: number;
  upn: string;
  userId: string;
  calendarId: string;
  room: string;
  roomId: number;
  coworkerId: number;
  recordId: number;
  /** Event ids made in this calendar (the ones a move may pick). */
  events: string[];
  /** Next free hour slot of this member's room. */
  nextSlot: number;
}

/** Graph traffic since a request-log id: total, by kind, by status. */
function graphTraffic(env: BenchEnv, sinceId: number) {
  const entries = env.emu.control.requests({ sinceId });
  const byKind: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  for (const r of entries) {
    const p = r.path.toLowerCase();
    const kind = p.includes('/oauth2/') || p.includes('well-known') || p.includes('/discovery/') ? 'identity'
      : p.includes('/subscriptions') ? `${r.method} /subscriptions`
      : p.includes('/calendarview/delta') ? 'GET calendarView/delta'
      : p.includes('/events') ? `${r.method} events`
      : `${r.method} other`;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  }
  return { total: entries.length, byKind, byStatus, lastId: entries.at(-1)?.id ?? sinceId };
}

const lastRequestId = (env: BenchEnv) => env.emu.control.requests().at(-1)?.id ?? 0;
const lastDeliveryId = (env: BenchEnv) => env.emu.control.deliveries().at(-1)?.id ?? 0;

function throttleSummary(env: BenchEnv) {
  const t = env.emu.control.throttling();
  return {
    outlookRequests: t.mailboxes.reduce((n, m) => n + m.requests, 0),
    mailboxes: t.mailboxes.length,
    maxConcurrencyPerMailbox: t.maxConcurrency,
    throttled429: t.throttled,
    throttledConcurrency: t.throttledConcurrency,
    throttledRate: t.throttledRate,
  };
}

async function jobCounts(env: BenchEnv): Promise<Record<string, number>> {
  const rows = await env.db.rows<{ type: string; state: string; n: number | string }>('SELECT type, state, COUNT(*) AS n FROM jobs GROUP BY type, state ORDER BY type, state');
  return Object.fromEntries(rows.map((r) => [`${r.type}:${r.state}`, Number(r.n)]));
}

const dueJobs = (env: BenchEnv) => env.db.count(`SELECT COUNT(*) AS n FROM jobs WHERE state = 'running' OR (state = 'pending' AND run_at <= ${Date.now()})`);
const total = async (env: BenchEnv, p: string) => Number((await env.get(p)).TotalItems);

/** Rooms (resources with a CalendarEmail) through the API. */
async function createRooms(env: BenchEnv, emails: string[]): Promise<number[]> {
  const ids: number[] = new Array(emails.length);
  await forEachLimit(emails, 8, async (email, k) => {
    const r = await env.api('POST', '/api/spaces/resources', { Name: `Room ${email.split('@')[0]}`, CalendarEmail: email });
    if (r.status !== 200) throw new Error(`resource create failed: ${JSON.stringify(r.body)}`);
    ids[k] = r.body.Value.Id;
  });
  return ids;
}

/** Resources with a CalendarEmail that no event invites: every delta round still has to tell them apart. */
async function createSpareRooms(env: BenchEnv, n: number): Promise<void> {
  if (!n) return;
  const t = performance.now();
  await createRooms(env, Array.from({ length: n }, (_, i) => `spare${i}@${DOMAIN}`));
  log(`  ${n} spare rooms (resources with a CalendarEmail, never invited) created in ${fmtS(performance.now() - t)}`);
}

/** Emulator mailboxes (each with its default calendar). */
function createMailboxes(env: BenchEnv, n: number, room: (i: number) => { email: string; id: number }): Member[] {
  const members: Member[] = [];
  for (let i = 0; i < n; i++) {
    const upn = `member${i}@${DOMAIN}`;
    const user = env.emu.control.createUser({ tenantId: env.tenantId, displayName: `Member ${i}`, userPrincipalName: upn });
    const r = room(i);
    members.push({ i, upn, userId: user.id, calendarId: env.emu.control.defaultCalendar(user.id).id, room: r.email, roomId: r.id, coworkerId: 0, recordId: 0, events: [], nextSlot: 0 });
  }
  return members;
}

async function createCoworkers(env: BenchEnv, members: Member[]): Promise<void> {
  await forEachLimit(members, 8, async (m) => {
    const r = await env.api('POST', '/api/spaces/coworkers', { FullName: `Member ${m.i}`, Email: m.upn });
    if (r.status !== 200) throw new Error(`coworker create failed: ${JSON.stringify(r.body)}`);
    m.coworkerId = r.body.Value.Id;
  });
}

async function createRecords(env: BenchEnv, members: Member[], onProgress?: (done: number) => void): Promise<void> {
  let done = 0;
  await forEachLimit(members, 8, async (m) => {
    const r = await env.api('POST', '/api/spaces/coworkermsofficecalendars', {
      ResourceId: m.roomId, CoworkerId: m.coworkerId, Name: `Calendar of member ${m.i}`, SubscriptionId: 'pending',
      CalendarId: m.calendarId, SubscriptionExpireDate: '2030-01-01T00:00:00Z',
    });
    if (r.status !== 200) throw new Error(`calendar record create failed: ${JSON.stringify(r.body)}`);
    m.recordId = r.body.Value.Id;
    onProgress?.(++done);
  });
}

/** Until every connection is active, fully synced once, and the API shows `bookings` bookings. */
async function waitReady(env: BenchEnv, n: number, bookings: number, timeoutMs: number): Promise<void> {
  const ok = await pollUntil('waiting for the first sync', async () => {
    const [active, synced, visible] = await Promise.all([
      total(env, '/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_State=active&size=1'),
      env.db.count('SELECT COUNT(*) AS n FROM graph_connections WHERE last_full_sync_at IS NOT NULL'),
      total(env, '/api/spaces/bookings?size=1'),
    ]);
    if (active === n && synced === n && visible === bookings && (await dueJobs(env)) === 0) return true;
    return `active ${active}/${n}, fully synced ${synced}/${n}, bookings ${visible}/${bookings}`;
  }, { timeoutMs, everyMs: 250 });
  if (!ok) throw new Error(`the first sync did not finish within ${timeoutMs / 1000} s:\n${env.logTail()}`);
  await sleep(1500); // let the last echoes settle before measuring
}

function slotStart(base: number, slot: number): number {
  if (slot >= MAX_SLOTS) throw new Error(`room slot ${slot} is past the booking horizon: use more calendars or fewer changes`);
  return base + slot * HOUR;
}

/** Event-loop delay and CPU of this process (the emulator, the driver and the poller) over a phase. */
function loopMonitor() {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    h.disable();
    const cpu = process.cpuUsage(cpu0);
    const cpuPercent = Math.round((100 * (cpu.user + cpu.system)) / 1000 / (performance.now() - t0));
    return { p99: +(h.percentile(99) / 1e6).toFixed(1), max: +(h.max / 1e6).toFixed(1), cpuPercent };
  };
}

function table(title: string, rows: Array<[string, string]>): string {
  return [`\n| ${title} | |`, '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

const sumLine = (s: Summary) => `p50 ${fmtMs(s.p50)}, p95 ${fmtMs(s.p95)}, p99 ${fmtMs(s.p99)}, max ${fmtMs(s.max)} (n=${s.n})`;
const kinds = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
const timerLine = (t: TimerSnapshot | null, kind: keyof TimerSnapshot['requests']) => {
  const k = t?.requests[kind];
  return k ? `p50 ${k.p50} ms, p99 ${k.p99} ms, max ${k.max} ms (${k.count} requests${k.non2xx ? `, ${k.non2xx} not 2xx` : ''})` : 'none';
};

interface CaseResult { name: CaseName; rows: Array<[string, string]>; json: Record<string, unknown> }

/** `calendars` members, each with their own room and `events` meetings booking it, connected and first synced. */
async function bookedCalendars(env: BenchEnv, base: number, o: { calendars: number; events: number; extraRooms: number }, readyTimeoutMs: number) {
  const emails = Array.from({ length: o.calendars }, (_, i) => `room${i}@${DOMAIN}`);
  const roomIds = await createRooms(env, emails);
  await createSpareRooms(env, o.extraRooms);
  const members = createMailboxes(env, o.calendars, (i) => ({ email: emails[i]!, id: roomIds[i]! }));
  for (const m of members) {
    for (let e = 0; e < o.events; e++) {
      const ev = env.emu.control.createEvent(m.userId, meeting(`Initial ${m.i}.${e}`, slotStart(base, m.nextSlot++), m.room) as never, { calendarId: m.calendarId });
      m.events.push(ev.id!);
    }
  }
  await createCoworkers(env, members);
  await createRecords(env, members);
  await waitReady(env, o.calendars, o.calendars * o.events, readyTimeoutMs);
  return members;
}

// ---- case 1: event change → booking visible -------------------------------------------------------------------------

async function eventLatency(env: BenchEnv, o: { calendars: number; events: number; changes: number; spacingMs: number; seed: number; extraRooms: number }): Promise<CaseResult> {
  const random = rng(o.seed);
  const base = tomorrowUtc() + 6 * HOUR;
  log(`event-latency: ${o.calendars} calendars (one mailbox and one room each), ${o.events} events each before the first sync`);
  const members = await bookedCalendars(env, base, o, 120_000);

  log(`event-latency: ${o.changes} changes, one every ${o.spacingMs} ms, round-robin over the calendars (a calendar changes every ${fmtS(o.calendars * o.spacingMs)}); polling the bookings list every 50 ms`);
  const watcher = new BookingWatcher(env, 3_000);
  const reqMark = lastRequestId(env);
  env.emu.control.resetThrottling();
  await env.timerReset();
  const cpu0 = env.cpuSeconds();
  const machine0 = machineCpu();
  const loop = loopMonitor();
  let driving = true;
  const poller = (async () => {
    const deadline = Date.now() + o.changes * o.spacingMs + 60_000;
    while ((driving || watcher.outstanding > 0) && Date.now() < deadline) {
      await watcher.poll();
      await sleep(50);
    }
  })();
  const t0 = performance.now();
  for (let k = 0; k < o.changes; k++) {
    const due = t0 + k * o.spacingMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const m = members[k % members.length]!;
    const create = m.events.length === 0 || random() < 1 / 3;
    const start = slotStart(base, m.nextSlot++);
    const change: Change = { seq: k, kind: create ? 'create' : 'move', eventId: '', fromIso: new Date(start).toISOString(), t0: performance.now(), wall0: Date.now() };
    if (create) {
      const ev = env.emu.control.createEvent(m.userId, meeting(`Change ${k}`, start, m.room) as never, { calendarId: m.calendarId });
      change.eventId = ev.id!;
      m.events.push(ev.id!);
    } else {
      change.eventId = m.events[Math.floor(random() * m.events.length)]!;
      const body = meeting('', start, m.room);
      env.emu.control.updateEvent(m.userId, change.eventId, { start: body.start, end: body.end } as never);
    }
    watcher.add(change);
    if ((k + 1) % 25 === 0) log(`  ${k + 1}/${o.changes} changes made, ${watcher.settled.length} visible`);
  }
  driving = false;
  await poller;
  const machineBusy = busyPercent(machine0, machineCpu());
  const benchLoop = loop();
  const timer = await env.timerSnapshot();
  const cpu = env.cpuSeconds() - cpu0;
  const wall = (performance.now() - t0) / 1000;
  const visible = summarize(watcher.settled.map((c) => c.visibleMs!));
  const written = summarize(watcher.settled.map((c) => c.writtenMs!));
  const byKind = (k: Change['kind']) => summarize(watcher.settled.filter((c) => c.kind === k).map((c) => c.visibleMs!));
  const traffic = graphTraffic(env, reqMark);
  const throttle = throttleSummary(env);
  const missing = watcher.unresolved().length;
  const superseded = watcher.settled.filter((c) => c.superseded).length;
  const pollS = summarize(watcher.pollMs);
  const rows: Array<[string, string]> = [
    ['changes', `${o.changes} (${byKind('create').n} creates, ${byKind('move').n} moves) on ${o.calendars} calendars, one every ${o.spacingMs} ms${o.extraRooms ? `; ${o.extraRooms} spare rooms` : ''}`],
    ['**change → visible in GET /api/spaces/bookings**', `**${sumLine(visible)}**`],
    ['creates / moves', `p50 ${fmtMs(byKind('create').p50)} / ${fmtMs(byKind('move').p50)}, p95 ${fmtMs(byKind('create').p95)} / ${fmtMs(byKind('move').p95)}`],
    ['change → booking written (its UpdatedOn)', sumLine(written)],
    ['not visible after 60 s / superseded', `${missing} / ${superseded}`],
    ['poller', `${watcher.polls} polls, each ${fmtMs(pollS.p50)} p50 / ${fmtMs(pollS.p99)} p99; server side ${timerLine(timer, 'bookings')}`],
    ['webhook (server side)', timerLine(timer, 'notifications')],
    ['Graph requests', `${traffic.total} (${kinds(traffic.byKind)}); statuses ${kinds(traffic.byStatus)}`],
    ['Outlook limits', `max ${throttle.maxConcurrencyPerMailbox} in flight per mailbox, ${throttle.throttled429} × 429`],
    ['calbridge CPU', `${((100 * cpu) / wall).toFixed(0)}% of one core over ${wall.toFixed(0)} s (machine ${machineBusy}% busy); event loop p99 ${timer?.loopDelayMs.p99 ?? 'n/a'} ms; peak RSS ${env.peakRssMb()} MB`],
    ['bench process loop delay', `p99 ${benchLoop.p99} ms, max ${benchLoop.max} ms; ${benchLoop.cpuPercent}% of one core (the emulator runs here)`],
  ];
  return {
    name: 'event-latency', rows,
    json: { calendars: o.calendars, changes: o.changes, spacingMs: o.spacingMs, visibleMs: visible, writtenMs: written, create: byKind('create'), move: byKind('move'), missing, superseded, graph: traffic, throttle, serverCpuPercent: +((100 * cpu) / wall).toFixed(1), machineBusyPercent: machineBusy, timer, benchLoop },
  };
}

// ---- case 2: first sync of many calendars ---------------------------------------------------------------------------

async function firstSync(env: BenchEnv, o: { calendars: number; events: number; rooms: number; roomPercent: number; seed: number }): Promise<CaseResult> {
  const random = rng(o.seed);
  const base = tomorrowUtc();
  log(`first-sync: seeding ${o.calendars} mailboxes × ${o.events} events in the emulator (${o.roomPercent}% invite one of ${o.rooms} rooms)`);
  const emails = Array.from({ length: o.rooms }, (_, i) => `room${i}@${DOMAIN}`);
  const roomIds = await createRooms(env, emails);
  const tSeed = performance.now();
  const members = createMailboxes(env, o.calendars, (i) => ({ email: emails[i % o.rooms]!, id: roomIds[i % o.rooms]! }));
  // Room events: whole hours on working days' hours, day 1..170, so two of them either share a slot or do not
  // overlap at all: the bookings are the distinct (room, slot) pairs, whatever order the calendars sync in; the rest
  // are conflicts. Other events: anywhere in the horizon, 30–120 minutes, no room.
  const roomPairs = new Set<string>();
  let roomEvents = 0;
  for (const m of members) {
    for (let e = 0; e < o.events; e++) {
      if (random() * 100 < o.roomPercent) {
        const room = Math.floor(random() * o.rooms);
        const start = base + (1 + Math.floor(random() * 170)) * 24 * HOUR + (8 + Math.floor(random() * 10)) * HOUR;
        env.emu.control.createEvent(m.userId, meeting(`Room meeting ${m.i}.${e}`, start, emails[room]) as never, { calendarId: m.calendarId });
        roomPairs.add(`${room}:${start}`);
        roomEvents++;
      } else {
        const start = base + Math.floor(random() * 175) * 24 * HOUR + (7 + Math.floor(random() * 12)) * HOUR + (random() < 0.5 ? 30 * 60_000 : 0);
        env.emu.control.createEvent(m.userId, meeting(`Meeting ${m.i}.${e}`, start, undefined, 30 * (1 + Math.floor(random() * 4))) as never, { calendarId: m.calendarId });
      }
    }
  }
  const seedS = (performance.now() - tSeed) / 1000;
  const expectedBookings = roomPairs.size;
  const expectedConflicts = roomEvents - roomPairs.size;
  log(`  ${o.calendars * o.events} events in ${seedS.toFixed(1)} s: ${roomEvents} invite a room → expect ${expectedBookings} bookings and ${expectedConflicts} conflicts`);
  const tCw = performance.now();
  await createCoworkers(env, members);
  const coworkersS = (performance.now() - tCw) / 1000;
  log(`  ${o.calendars} coworkers created through the API in ${coworkersS.toFixed(1)} s (not timed below)`);

  const reqMark = lastRequestId(env);
  const delMark = lastDeliveryId(env);
  env.emu.control.resetThrottling();
  await env.timerReset();
  const cpu0 = env.cpuSeconds();
  const machine0 = machineCpu();
  const loop = loopMonitor();
  log(`first-sync: creating ${o.calendars} calendar records through the API (8 at a time) and waiting for every connection and booking`);
  const t0 = performance.now();
  let created = 0;
  let recordsS = NaN;
  const creating = createRecords(env, members, (n) => (created = n)).then(() => (recordsS = (performance.now() - t0) / 1000));
  const marks: Record<string, number> = {};
  const at = (k: string) => (marks[k] ??= (performance.now() - t0) / 1000);
  let last: Record<string, number> = {};
  let apiActiveStale = 0;
  const ok = await pollUntil('first sync', async () => {
    const [active, dbActive, synced, bookings, conflicts, marked, due] = await Promise.all([
      total(env, '/api/spaces/coworkermsofficecalendars?CoworkerMsOfficeCalendar_State=active&size=1'),
      env.db.count(`SELECT COUNT(*) AS n FROM graph_connections WHERE state = 'active'`),
      env.db.count('SELECT COUNT(*) AS n FROM graph_connections WHERE last_full_sync_at IS NOT NULL'),
      total(env, '/api/spaces/bookings?size=1'),
      total(env, '/api/spaces/bookingconflicts?size=1'),
      env.db.count('SELECT COUNT(*) AS n FROM booking_conflicts WHERE marked = 1'),
      dueJobs(env),
    ]);
    last = { created, active, dbActive, synced, bookings, conflicts, marked, due };
    if (dbActive === o.calendars && active !== o.calendars) apiActiveStale++;
    if (created === o.calendars) at('records created');
    if (active === o.calendars) at('all connections active (API)');
    if (dbActive === o.calendars) at('all connections active (database)');
    if (synced === o.calendars) at('all calendars read once');
    const bookingsDone = bookings === expectedBookings && bookings + conflicts === roomEvents;
    if (bookingsDone && synced === o.calendars) at('every booking and conflict exists (API)');
    const quiet = bookingsDone && marked === conflicts && due === 0 && created === o.calendars && active === o.calendars;
    if (quiet) {
      at('quiet: conflicts marked in Outlook, no job due');
      return true;
    }
    const s = (performance.now() - t0) / 1000;
    const req = env.emu.control.requests({ sinceId: reqMark }).length;
    return `${s.toFixed(0)} s: records ${created}/${o.calendars}, active ${active} (db ${dbActive}), read ${synced}, bookings ${bookings}/${expectedBookings}, conflicts ${conflicts}/${expectedConflicts} (marked ${marked}), jobs due ${due}, Graph requests ${req}, 429s ${env.emu.control.throttling().throttled}`;
  }, { timeoutMs: 30 * 60_000, everyMs: 500, progressMs: 5000 });
  await creating.catch((err) => log(`record creation failed: ${err}`));
  const wall = (performance.now() - t0) / 1000;
  const machineBusy = busyPercent(machine0, machineCpu());
  const benchLoop = loop();
  const timer = await env.timerSnapshot();
  const cpu = env.cpuSeconds() - cpu0;
  const traffic = graphTraffic(env, reqMark);
  const throttle = throttleSummary(env);
  const deliveries = env.emu.control.deliveries({ sinceId: delMark });
  const validations = deliveries.filter((d) => d.kind === 'validation');
  const notifications = deliveries.filter((d) => d.kind === 'notification');
  const jobs = await jobCounts(env);
  const done = marks['every booking and conflict exists (API)'];
  const rows: Array<[string, string]> = [
    ['calendars × events', `${o.calendars} × ${o.events} = ${o.calendars * o.events} events; ${roomEvents} invite one of ${o.rooms} rooms (collisions allowed)`],
    ['expected', `${expectedBookings} bookings + ${expectedConflicts} conflicts`],
    ['found', `${last.bookings} bookings + ${last.conflicts} conflicts (${last.marked} marked in Outlook)${ok ? '' : ' — TIMED OUT after 30 min'}`],
    ['records created through the API', `${fmtS(recordsS * 1000)} (${(o.calendars / recordsS).toFixed(0)} records/s, 8 at a time)`],
    ...Object.entries(marks).map(([k, v]): [string, string] => [k, k.startsWith('every booking') ? `**${v.toFixed(1)} s**` : `${v.toFixed(1)} s`]),
    ['**Graph requests**', `**${traffic.total}** (${kinds(traffic.byKind)}); statuses ${kinds(traffic.byStatus)}`],
    ['**most requests in flight on one mailbox**', `**${throttle.maxConcurrencyPerMailbox}** (limit 4) over ${throttle.mailboxes} mailboxes, ${throttle.outlookRequests} Outlook requests`],
    ['**429s from the emulator\'s limits**', `**${throttle.throttled429}** (concurrency ${throttle.throttledConcurrency}, rate ${throttle.throttledRate})`],
    ['webhook traffic', `${validations.length} validation handshakes (${validations.filter((d) => !d.ok).length} failed), ${notifications.length} notification POSTs (${notifications.filter((d) => !d.ok).length} failed)`],
    ['jobs', kinds(jobs)],
    ['calbridge CPU', `${cpu.toFixed(1)} s (${((100 * cpu) / wall).toFixed(0)}% of one core over ${wall.toFixed(0)} s; machine ${machineBusy}% busy); event loop p99 ${timer?.loopDelayMs.p99 ?? 'n/a'} ms; peak RSS ${env.peakRssMb()} MB`],
    ['server-side request time', `webhook ${timerLine(timer, 'notifications')}; handshakes ${timerLine(timer, 'validation')}; API ${timerLine(timer, 'other')}`],
    ['bench process loop delay', `p99 ${benchLoop.p99} ms, max ${benchLoop.max} ms; ${benchLoop.cpuPercent}% of one core (emulator + poller)`],
  ];
  if (apiActiveStale > 0) rows.push(['note', `the API's State=active total lagged the database in ${apiActiveStale} polls`]);
  return {
    name: 'first-sync', rows,
    json: { calendars: o.calendars, events: o.events, rooms: o.rooms, roomEvents, expectedBookings, expectedConflicts, found: last, finished: ok, seconds: marks, recordsS, doneS: done, graph: traffic, throttle, jobs, serverCpuS: cpu, machineBusyPercent: machineBusy, timer, benchLoop, apiActiveStale },
  };
}

// ---- case 3: notifications at a steady rate with bookings changing ---------------------------------------------------

async function notificationsCase(env: BenchEnv, o: { calendars: number; events: number; rate: number; durationS: number; seed: number; extraRooms: number }): Promise<CaseResult> {
  const random = rng(o.seed);
  const base = tomorrowUtc() + 6 * HOUR;
  log(`notifications: ${o.calendars} calendars (one mailbox and one room each), ${o.events} booked events each`);
  const members = await bookedCalendars(env, base, o, 300_000);
  const initialBookings = o.calendars * o.events;

  // Moves walk the events round-robin, calendar by calendar (consecutive changes hit different calendars; each event
  // moves every events×calendars/rate s); every 10th change creates an event instead.
  const pool: Array<{ m: Member; eventId: string }> = [];
  for (let e = 0; e < o.events; e++) for (const m of members) pool.push({ m, eventId: m.events[e]! });
  const watcher = new BookingWatcher(env, 2_000);
  const reqMark = lastRequestId(env);
  env.emu.control.clearDeliveries();
  env.emu.control.resetThrottling();
  const rowsBefore = await env.db.count('SELECT COUNT(*) AS n FROM graph_notifications');
  const syncsBefore = await env.db.count(`SELECT COUNT(*) AS n FROM jobs WHERE type = 'graph.sync' AND state = 'done'`);
  await env.timerReset();
  const cpu0 = env.cpuSeconds();
  const machine0 = machineCpu();
  const loop = loopMonitor();
  log(`notifications: ${o.rate} changes/s for ${o.durationS} s (each change → one Graph notification); polling the bookings list every 100 ms`);
  let driving = true;
  const poller = (async () => {
    const deadline = Date.now() + o.durationS * 1000 + 120_000;
    while ((driving || watcher.outstanding > 0) && Date.now() < deadline) {
      await watcher.poll();
      await sleep(100);
    }
  })();
  const t0 = performance.now();
  const end = t0 + o.durationS * 1000;
  let made = 0;
  let creates = 0;
  let moves = 0;
  let nextReport = t0 + 5000;
  let reportSettled = 0;
  while (performance.now() < end) {
    const owed = Math.min(Math.floor(((performance.now() - t0) / 1000) * o.rate), o.rate * o.durationS);
    for (; made < owed; made++) {
      const create = made % 10 === 9;
      let change: Change;
      if (create) {
        const m = members[Math.floor(random() * members.length)]!;
        const start = slotStart(base, m.nextSlot++);
        change = { seq: made, kind: 'create', eventId: '', fromIso: new Date(start).toISOString(), t0: performance.now(), wall0: Date.now() };
        const ev = env.emu.control.createEvent(m.userId, meeting(`New ${made}`, start, m.room) as never, { calendarId: m.calendarId });
        change.eventId = ev.id!;
        creates++;
      } else {
        const { m, eventId } = pool[moves % pool.length]!;
        const start = slotStart(base, m.nextSlot++);
        change = { seq: made, kind: 'move', eventId, fromIso: new Date(start).toISOString(), t0: performance.now(), wall0: Date.now() };
        const body = meeting('', start, m.room);
        env.emu.control.updateEvent(m.userId, eventId, { start: body.start, end: body.end } as never);
        moves++;
      }
      watcher.add(change);
    }
    if (performance.now() >= nextReport) {
      const recent = watcher.settled.slice(reportSettled).map((c) => c.visibleMs!);
      reportSettled = watcher.settled.length;
      const s = summarize(recent);
      log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${made} changes, ${watcher.settled.length} visible, ${watcher.outstanding} outstanding; last 5 s lag p50 ${fmtMs(s.p50)} p95 ${fmtMs(s.p95)} max ${fmtMs(s.max)}; ${env.emu.control.deliveries({ kind: 'notification' }).length} webhook POSTs`);
      nextReport += 5000;
    }
    await sleep(5);
  }
  const sentFor = (performance.now() - t0) / 1000;
  const cpuDriving = env.cpuSeconds() - cpu0;
  const machineBusy = busyPercent(machine0, machineCpu());
  driving = false;
  log(`notifications: ${made} changes in ${sentFor.toFixed(1)} s; waiting for the last bookings (${watcher.outstanding} outstanding)`);
  await poller;
  const drainS = (performance.now() - t0) / 1000 - sentFor;
  const benchLoop = loop();
  const timer = await env.timerSnapshot();
  await env.emu.control.waitForIdle(10_000).catch(() => {});
  const deliveries = env.emu.control.deliveries({ kind: 'notification' });
  const ack = summarize(deliveries.filter((d) => d.status !== null).map((d) => d.durationMs));
  const failed = deliveries.filter((d) => !d.ok).length;
  const retried = deliveries.filter((d) => d.attempt > 1).length;
  const items = deliveries.filter((d) => d.attempt === 1).reduce((n, d) => n + d.itemCount, 0);
  const lag = summarize(watcher.settled.map((c) => c.visibleMs!));
  const written = summarize(watcher.settled.map((c) => c.writtenMs!));
  const missing = watcher.unresolved().length;
  const superseded = watcher.settled.filter((c) => c.superseded).length;
  const traffic = graphTraffic(env, reqMark);
  const throttle = throttleSummary(env);
  await sleep(1500);
  const [rows, active, cancelled, conflicts, syncsAfter, jobs] = await Promise.all([
    env.db.count('SELECT COUNT(*) AS n FROM graph_notifications'),
    total(env, '/api/spaces/bookings?size=1'),
    total(env, '/api/spaces/cancelledbookings?size=1'),
    total(env, '/api/spaces/bookingconflicts?size=1'),
    env.db.count(`SELECT COUNT(*) AS n FROM jobs WHERE type = 'graph.sync' AND state = 'done'`),
    jobCounts(env),
  ]);
  const pollS = summarize(watcher.pollMs);
  const serverPct = (100 * cpuDriving) / sentFor;
  const tableRows: Array<[string, string]> = [
    ['offered', `${made} changes in ${sentFor.toFixed(1)} s (${(made / sentFor).toFixed(0)}/s: ${moves} moves, ${creates} creates) over ${o.calendars} calendars, ${initialBookings} bookings to start with${o.extraRooms ? `; ${o.extraRooms} spare rooms` : ''}`],
    ['webhook POSTs (emulator → calbridge)', `${deliveries.length} carrying ${items} notifications; ${failed} failed, ${retried} retries`],
    ['**webhook acknowledgement, as the emulator timed it**', `**${sumLine(ack)}**`],
    ['webhook, server side (request → response finish)', timerLine(timer, 'notifications')],
    ['**bookings lag (change → visible in the API)**', `**${sumLine(lag)}**`],
    ['change → booking written (UpdatedOn)', sumLine(written)],
    ['not visible after the drain / superseded', `${missing} / ${superseded} (drain took ${drainS.toFixed(1)} s)`],
    ['rows at the end', `graph_notifications +${rows - rowsBefore} (${rows} in all); bookings ${active} active (${initialBookings} + ${creates} created), ${cancelled} cancelled, ${conflicts} conflicts`],
    ['sync rounds (graph.sync jobs done)', `${syncsAfter - syncsBefore} (${((syncsAfter - syncsBefore) / (sentFor + drainS)).toFixed(0)}/s)`],
    ['Graph requests', `${traffic.total} (${kinds(traffic.byKind)}); statuses ${kinds(traffic.byStatus)}`],
    ['Outlook limits', `max ${throttle.maxConcurrencyPerMailbox} in flight per mailbox, ${throttle.throttled429} × 429`],
    ['jobs', kinds(jobs)],
    ['poller', `${watcher.polls} polls (${watcher.rowsRead} rows), each ${fmtMs(pollS.p50)} p50 / ${fmtMs(pollS.p99)} p99; server side ${timerLine(timer, 'bookings')}`],
    ['calbridge CPU', `${serverPct.toFixed(0)}% of one core while driving (machine ${machineBusy}% busy on ${os.cpus().length} CPUs); event loop p99 ${timer?.loopDelayMs.p99 ?? 'n/a'} ms, max ${timer?.loopDelayMs.max ?? 'n/a'} ms; GC ${timer?.gc.totalMs ?? 'n/a'} ms; peak RSS ${env.peakRssMb()} MB`],
    ['bench process loop delay', `p99 ${benchLoop.p99} ms, max ${benchLoop.max} ms; ${benchLoop.cpuPercent}% of one core (the emulator runs here and times the webhook)`],
  ];
  return {
    name: 'notifications', rows: tableRows,
    json: { calendars: o.calendars, events: o.events, rate: o.rate, durationS: o.durationS, made, moves, creates, sentFor, ackMs: ack, deliveries: deliveries.length, failed, retried, lagMs: lag, writtenMs: written, missing, superseded, drainS, graphNotificationsAdded: rows - rowsBefore, bookingsActive: active, cancelled, conflicts, syncRounds: syncsAfter - syncsBefore, graph: traffic, throttle, jobs, serverCpuPercent: +serverPct.toFixed(1), machineBusyPercent: machineBusy, timer, benchLoop },
  };
}

/** The machine is shared: wait (bounded) until it is under 25% busy over 3 s. */
async function waitQuiet(maxS: number): Promise<void> {
  const deadline = Date.now() + maxS * 1000;
  for (;;) {
    const a = machineCpu();
    await sleep(3000);
    const busy = busyPercent(a, machineCpu());
    if (busy < 25) return void log(`machine ${busy}% busy: starting`);
    if (Date.now() > deadline) return void log(`machine still ${busy}% busy after ${maxS} s (load average ${os.loadavg()[0]!.toFixed(1)}): starting anyway`);
    log(`machine ${busy}% busy (load average ${os.loadavg()[0]!.toFixed(1)}): waiting for it to quieten`);
    await sleep(5000);
  }
}

// ---- main -------------------------------------------------------------------------------------------------------------

let cluster: PgCluster | undefined;
const envs = new Set<BenchEnv>();

async function stopEverything(): Promise<void> {
  for (const e of envs) await e.close().catch(() => {});
  for (const s of liveServers) await s.stop().catch(() => null);
  try {
    cluster?.stop();
  } catch {
    /* already gone */
  }
  cluster = undefined;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), SPEC);
  if (args.has('help')) {
    console.log(usage('npm run bench:bookings --', SPEC));
    return;
  }
  const which = String(args.get('case') ?? 'all');
  if (which !== 'all' && !CASES.includes(which as CaseName)) throw new ArgError(`--case must be one of ${CASES.join(', ')}, all`);
  const cases: CaseName[] = which === 'all' ? [...CASES] : [which as CaseName];
  const seed = intArg(args, 'seed', 1, 0);
  const calendarsFor = (def: number) => intArg(args, 'calendars', def);
  const eventsFor = (def: number) => intArg(args, 'events', def, 0);
  const opts = {
    latency: { calendars: calendarsFor(20), events: eventsFor(2), changes: intArg(args, 'changes', 150), spacingMs: intArg(args, 'spacing-ms', 400), seed, extraRooms: intArg(args, 'extra-rooms', 0, 0) },
    first: { calendars: calendarsFor(1000), events: eventsFor(50), rooms: intArg(args, 'rooms', 8), roomPercent: intArg(args, 'room-percent', 10, 0), seed },
    notif: { calendars: calendarsFor(200), events: eventsFor(5), rate: intArg(args, 'rate', 100), durationS: intArg(args, 'duration', 60), seed, extraRooms: intArg(args, 'extra-rooms', 0, 0) },
  };
  if (opts.first.roomPercent > 100) throw new ArgError('--room-percent must be at most 100');
  if (opts.latency.events < 1 && opts.latency.changes > 0) opts.latency.events = 0;

  // Watchdog: generous per-case budgets, so a hung run still ends.
  const budgetS = cases.reduce((s, c) => s + (c === 'event-latency' ? 600 : c === 'first-sync' ? 2400 : opts.notif.durationS + 900), 0);
  const watchdog = setTimeout(() => {
    log(`watchdog: the benchmark took longer than ${budgetS} s; stopping`);
    void stopEverything().then(() => process.exit(3));
  }, budgetS * 1000);
  watchdog.unref();
  const onSignal = () => void stopEverything().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  if (args.has('pg')) {
    log('bench:bookings: starting a throwaway PostgreSQL cluster (scripts/pg-cluster.mjs)');
    cluster = await startBenchCluster(ROOT);
  }
  const results: CaseResult[] = [];
  const graphLatencyMs = intArg(args, 'graph-latency-ms', 0, 0);
  const cpuProf = args.get('cpu-prof');
  const waitQuietS = intArg(args, 'wait-quiet', 0, 0);
  for (const c of cases) {
    if (waitQuietS) await waitQuiet(waitQuietS);
    const load0 = os.loadavg()[0]!;
    const nodeFlags = typeof cpuProf === 'string' ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProf, c)}`] : [];
    const env = await startEnv({ label: c, pgServerUrl: cluster?.url, graphLatencyMs, nodeFlags });
    envs.add(env);
    log(`\n== ${c} == calbridge pid ${env.server.pid} at ${env.url} on ${env.database}; Graph emulator (in this process) at ${env.emu.url}${graphLatencyMs ? `, every Graph request delayed ${graphLatencyMs} ms` : ''}`);
    try {
      const r = c === 'event-latency' ? await eventLatency(env, opts.latency)
        : c === 'first-sync' ? await firstSync(env, opts.first)
        : await notificationsCase(env, opts.notif);
      r.rows.push(['machine', `load average ${load0.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end (${os.cpus().length} CPUs, shared)`]);
      r.json.loadAverage = [+load0.toFixed(2), +os.loadavg()[0]!.toFixed(2)];
      results.push(r);
      console.log(table(`${c} (${env.database}, ${os.cpus().length} CPUs${graphLatencyMs ? `, Graph latency +${graphLatencyMs} ms` : ''})`, r.rows));
      console.log(JSON.stringify({ bench: 'bookings', case: c, database: env.database.startsWith('SQLite') ? 'sqlite' : 'postgres', graphLatencyMs, at: new Date().toISOString(), ...r.json }));
    } finally {
      await env.close();
      envs.delete(env);
    }
  }
  if (results.length > 1) {
    console.log('\n## Summary');
    for (const r of results) console.log(table(r.name, r.rows));
  }
  clearTimeout(watchdog);
  await stopEverything();
}

main().catch(async (err) => {
  if (err instanceof ArgError) {
    log(`${err.message}\n${usage('npm run bench:bookings --', SPEC)}`);
    process.exitCode = 2;
  } else {
    log(`bench:bookings failed: ${err instanceof Error ? err.stack : String(err)}`);
    for (const e of envs) {
      const code = e.server.proc.exitCode ?? e.server.proc.signalCode;
      log(`calbridge (pid ${e.server.pid}${code !== null ? `, exited: ${code}` : ', still running'}), the end of its output:\n${e.logTail()}`);
    }
    process.exitCode = 1;
  }
  await stopEverything();
  process.exit();
});
