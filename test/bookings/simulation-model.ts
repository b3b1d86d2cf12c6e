/**
 * Proof by simulation: random sequences of what members do in Outlook (single and recurring events created, moved,
 * edited, re-invited, cancelled, shared with another member; single occurrences moved or cancelled), API bookings mixed in, and what Graph does to
 * calbridge (notifications dropped, duplicated and delayed, subscriptions silently expired or removed, slow and failing
 * answers), played against the real app, queue and engine on the Graph emulator with one shared clock. After the
 * system settles and a reconciliation has run, an independent model computed from the emulator's final state
 * (calendarView, read over HTTPS like any Graph client) must agree with the API.
 *
 * The model does not use src/modules/bookings: what books what is re-derived here from the README's rules.
 *
 * World: members adelev, alexw and meganb (each a coworker with a calendar record on their default calendar), rooms
 * rainier, baker and olympic (resources with a CalendarEmail, one written in mixed case), a coworker without a
 * calendar. Time: `advance` lets minutes or hours pass while the system is idle (sweeps, renewals and reconciliations
 * fall due); `jump` moves the clock a few seconds while work is in flight; nothing sleeps. The end: faults cleared,
 * settled, the clock moved past the reconciliation interval and a sweep, every calendar read whole, settled again.
 *
 * Checks (kinds of Discrepancy):
 * (a, f) double-booked: two active bookings of one resource overlap, whatever their sources;
 * (b) missing / duplicate / booking-times / booking-tentative / booking-coworker / api-times / stale-conflict /
 *     conflict-times / self-blocked-conflict / older-conflict-beside-booking: a wanted (occurrence, resource) pair is exactly one of: an Outlook booking
 *     of that connection at the occurrence's times with its tentative flag, the API booking whose event it is, or an
 *     open conflict that collides with an active booking of the resource; notes: the booking's Notes is the subject;
 *     One meeting in several members' calendars (the `share` action: a copy with the organiser's iCalUId): a pair held by
 *     another member's copy of the same meeting at the same times is booked once, by that copy, and this copy is no
 *     booking and no listed conflict (same-meeting-booked-twice); (d) then asks that it carries no mark;
 * (c) unwanted-booking / unwanted-conflict / api-unwanted: nothing is left for an occurrence that does not want it;
 * (d) unmarked-conflict / marked-but-booked / stale-mark / mark-body: an event carries "calbridge: not booked" (and
 *     the body line) exactly while it has an open conflict;
 * (e) api-event-count / api-event-gone-unseen / api-event-never-written / api-event-times / api-cancel-leftover: an API booking of a member is
 *     exactly one event in their calendar, at its times; one cancelled through the API leaves none;
 * (g) api-booking-lost(-outside-horizon) / api-booking-moved / api-booking-state: an API booking no member touched in
 *     Outlook is as the API left it; api-cancel-undone: a room cancelled through the API leaves the member's event;
 * and connection / subscription / no-reconciliation / dead-job(-all-day-move): every connection active with exactly
 * one live subscription, read whole after the reconciliation, no dead job.
 *
 * Shared by test/bookings/simulation.test.ts (fixed seeds in `npm test`) and test/bookings/simulate.ts (the CLI).
 */
import fc from 'fast-check';
import { startGraphEnv, type GraphEnv } from '../helpers/graph-env.js';

// ---- constants ------------------------------------------------------------------------------------------------------

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const HALF_HOUR = 30 * MINUTE;
/** The engine's default reconciliation interval (reconcileEveryMs) and sweep period. */
export const RECONCILE_EVERY_MS = 6 * HOUR;
export const SWEEP_EVERY_MS = 5 * MINUTE;
/** The default booking horizon (horizonPastDays / horizonFutureDays). */
const HORIZON_PAST_MS = 1 * DAY;
const HORIZON_FUTURE_MS = 180 * DAY;
/** Instances this close to a horizon edge are left out of the comparison (the window is taken when a round starts). */
const EDGE_MARGIN_MS = 2 * MINUTE;
export const CONFLICT_CATEGORY = 'calbridge: not booked';
const DOMAIN = 'contoso.onmicrosoft.com';
const BOOKING_SHOW_AS = new Set(['busy', 'tentative', 'oof']);

// ---- actions --------------------------------------------------------------------------------------------------------

export type Where = 'near' | 'past' | 'far' | 'edgeFuture' | 'edgePast';
export type Zone = 'UTC' | 'Europe/Berlin' | 'Pacific Standard Time';
export type ShowAs = 'busy' | 'tentative' | 'oof' | 'free' | 'workingElsewhere';

/** A time: `near` is a small grid (3 days × 6 half-hours from 09:00 UTC, a few days ahead) so that collisions are common. */
export interface Slot {
  where: Where;
  day: number;
  half: number;
  /** Length in half-hours. */
  len: number;
  /** The zone the event is written in (the instant stays the grid's). */
  zone: Zone;
  /** An all-day event covering the day (near only). */
  allDay: boolean;
}

/** Which rooms an event invites, and how: resource or required attendees, or the first room as the location. */
export interface Invite {
  rooms: number[];
  via: 'resource' | 'required' | 'location';
  /** Write the mailbox in upper case (CalendarEmail matching is case-insensitive). */
  upper: boolean;
}

/** An event of a member: the pick-th of the events the simulation made or that calbridge wrote for API bookings
 * (those that still exist), or (occ not null, a series) its occ-th occurrence. */
export interface Target {
  member: number;
  pick: number;
  occ: number | null;
}

export interface Series {
  type: 'daily' | 'weekly';
  interval: number;
  count: number;
}

export type Action =
  | { t: 'create'; member: number; slot: Slot; invite: Invite; showAs: ShowAs; series: Series | null; html: boolean }
  | { t: 'move'; target: Target; slot: Slot }
  | { t: 'edit'; target: Target; subject: boolean; showAs: ShowAs | null }
  | { t: 'invite'; target: Target; invite: Invite }
  | { t: 'cancel'; target: Target; how: 'delete' | 'isCancelled' }
  /** Another member is invited too: Exchange puts their copy of the meeting (the same iCalUId) in their calendar. */
  | { t: 'share'; target: Target; peer: number }
  /** coworker 0..2 are the members, 3 is a coworker without a calendar connection. */
  | { t: 'apiBook'; coworker: number; room: number; slot: Slot }
  | { t: 'apiMove'; source: 'api' | 'outlook'; pick: number; slot: Slot }
  | { t: 'apiCancel'; source: 'api' | 'outlook'; pick: number }
  | { t: 'notifications'; fault: 'drop' | 'duplicate'; count: number; member: number | null }
  | { t: 'subscription'; member: number; how: 'expire' | 'remove' | 'removeNotify' | 'missed' | 'reauthorize' }
  /** The member's delta tokens die: the next round answers 410 and calbridge reads the calendar whole. */
  | { t: 'deltaReset'; member: number }
  | { t: 'graphFault'; on: 'delta' | 'subscriptions' | 'events'; fault: 'delay' | '503' | '429'; times: number; delayMs: number }
  | { t: 'webhooks'; batchDelayMs: number; updatesPerChange: number }
  | { t: 'dedicated'; member: number; on: boolean }
  /** Time passes while nothing is happening (the system settles first): renewals, sweeps, reconciliations fall due. */
  | { t: 'advance'; minutes: number }
  /** A few seconds pass while work is in flight (short of the queue's 30 s lease and the tokens' hour). */
  | { t: 'jump'; seconds: number }
  | { t: 'settle' };

export const MEMBERS = ['adelev', 'alexw', 'meganb'] as const;
export const ROOMS = ['rainier', 'baker', 'olympic'] as const;

const weighted = <T>(...options: Array<[number, fc.Arbitrary<T>]>): fc.Arbitrary<T> =>
  fc.oneof(...options.map(([weight, arbitrary]) => ({ weight, arbitrary })));

const member = fc.integer({ min: 0, max: MEMBERS.length - 1 });
const room = fc.integer({ min: 0, max: ROOMS.length - 1 });

export const slotArb: fc.Arbitrary<Slot> = fc.record({
  where: weighted<Where>([14, fc.constant('near')], [1, fc.constant('past')], [1, fc.constant('far')], [1, fc.constant('edgeFuture')], [1, fc.constant('edgePast')]),
  day: fc.integer({ min: 0, max: 2 }),
  half: fc.integer({ min: 0, max: 5 }),
  len: fc.integer({ min: 1, max: 3 }),
  zone: weighted<Zone>([3, fc.constant('UTC')], [1, fc.constant('Europe/Berlin')], [1, fc.constant('Pacific Standard Time')]),
  allDay: weighted([14, fc.constant(false)], [1, fc.constant(true)]),
});

export const inviteArb: fc.Arbitrary<Invite> = fc.record({
  rooms: weighted<number[]>([6, room.map((r) => [r])], [2, fc.uniqueArray(room, { minLength: 2, maxLength: 2 })], [1, fc.constant([])]),
  via: weighted<Invite['via']>([4, fc.constant('resource')], [1, fc.constant('required')], [2, fc.constant('location')]),
  upper: weighted([4, fc.constant(false)], [1, fc.constant(true)]),
});

const showAsArb = weighted<ShowAs>([6, fc.constant('busy')], [2, fc.constant('tentative')], [1, fc.constant('oof')], [1, fc.constant('free')], [1, fc.constant('workingElsewhere')]);

const targetArb: fc.Arbitrary<Target> = fc.record({
  member,
  pick: fc.nat({ max: 50 }),
  occ: weighted<number | null>([2, fc.constant(null)], [1, fc.nat({ max: 5 })]),
});

const seriesArb: fc.Arbitrary<Series | null> = weighted<Series | null>(
  [3, fc.constant(null)],
  [1, fc.record({ type: fc.constant<'daily'>('daily'), interval: fc.integer({ min: 1, max: 2 }), count: fc.integer({ min: 2, max: 4 }) })],
  [1, fc.record({ type: fc.constant<'weekly'>('weekly'), interval: fc.constant(1), count: fc.integer({ min: 2, max: 3 }) })],
);

export const actionArb: fc.Arbitrary<Action> = weighted<Action>(
  [8, fc.record({ t: fc.constant('create' as const), member, slot: slotArb, invite: inviteArb, showAs: showAsArb, series: seriesArb, html: fc.boolean() })],
  [3, fc.record({ t: fc.constant('move' as const), target: targetArb, slot: slotArb })],
  [2, fc.record({ t: fc.constant('edit' as const), target: targetArb, subject: fc.boolean(), showAs: weighted<ShowAs | null>([1, fc.constant(null)], [2, showAsArb]) })],
  [2, fc.record({ t: fc.constant('invite' as const), target: targetArb, invite: inviteArb })],
  [2, fc.record({ t: fc.constant('cancel' as const), target: targetArb, how: weighted<'delete' | 'isCancelled'>([3, fc.constant('delete')], [1, fc.constant('isCancelled')]) })],
  [2, fc.record({ t: fc.constant('share' as const), target: targetArb, peer: member })],
  [4, fc.record({ t: fc.constant('apiBook' as const), coworker: fc.integer({ min: 0, max: 3 }), room, slot: slotArb })],
  [1, fc.record({ t: fc.constant('apiMove' as const), source: weighted<'api' | 'outlook'>([2, fc.constant('api')], [1, fc.constant('outlook')]), pick: fc.nat({ max: 50 }), slot: slotArb })],
  [1, fc.record({ t: fc.constant('apiCancel' as const), source: weighted<'api' | 'outlook'>([2, fc.constant('api')], [1, fc.constant('outlook')]), pick: fc.nat({ max: 50 }) })],
  [2, fc.record({ t: fc.constant('notifications' as const), fault: fc.constantFrom<'drop' | 'duplicate'>('drop', 'duplicate'), count: fc.integer({ min: 1, max: 3 }), member: weighted<number | null>([1, fc.constant(null)], [2, member]) })],
  [1, fc.record({ t: fc.constant('subscription' as const), member, how: fc.constantFrom<'expire' | 'remove' | 'removeNotify' | 'missed' | 'reauthorize'>('remove', 'expire', 'removeNotify', 'missed', 'reauthorize') })],
  [1, fc.record({ t: fc.constant('deltaReset' as const), member })],
  [1, fc.record({
    t: fc.constant('graphFault' as const), on: fc.constantFrom<'delta' | 'subscriptions' | 'events'>('delta', 'events', 'subscriptions'),
    fault: fc.constantFrom<'delay' | '503' | '429'>('delay', '503', '429'), times: fc.integer({ min: 1, max: 3 }), delayMs: fc.integer({ min: 50, max: 800 }),
  })],
  [1, fc.record({ t: fc.constant('webhooks' as const), batchDelayMs: fc.integer({ min: 10, max: 600 }), updatesPerChange: fc.integer({ min: 1, max: 3 }) })],
  [1, fc.record({ t: fc.constant('dedicated' as const), member, on: fc.boolean() })],
  [2, fc.record({ t: fc.constant('advance' as const), minutes: weighted<number>([3, fc.integer({ min: 1, max: 30 })], [1, fc.integer({ min: 31, max: 120 })]) })],
  [1, fc.record({ t: fc.constant('jump' as const), seconds: fc.integer({ min: 1, max: 20 }) })],
  [4, fc.constant({ t: 'settle' as const })],
);

/**
 * `steps` steps; each is an action or null (a step that does nothing). Shrinking turns steps into null first, so a
 * counterexample keeps only the steps it needs (and the same length, hence the same replay path).
 */
export function actionsArb(steps: number): fc.Arbitrary<Array<Action | null>> {
  return fc.array(fc.option(actionArb, { nil: null, freq: 50 }), { minLength: steps, maxLength: steps });
}

export function describeAction(a: Action): string {
  const { t, ...rest } = a;
  return `${t} ${JSON.stringify(rest)}`;
}

// ---- times and zones ------------------------------------------------------------------------------------------------

const IANA: Record<string, string> = { UTC: 'UTC', 'Pacific Standard Time': 'America/Los_Angeles', 'W. Europe Standard Time': 'Europe/Berlin' };
const iana = (zone: string): string => IANA[zone] ?? zone;
const formatters = new Map<string, Intl.DateTimeFormat>();

function wallParts(ms: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const z = iana(zone);
  let f = formatters.get(z);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: z, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(z, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { y: Number(p.year), mo: Number(p.month), d: Number(p.day), h: Number(p.hour), mi: Number(p.minute), s: Number(p.second) };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** The wall-clock time of an instant in a zone, as Graph's dateTime (no offset). */
export function wallClock(ms: number, zone: string): string {
  const w = wallParts(ms, zone);
  return `${pad(w.y, 4)}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}`;
}

/** A Graph dateTimeTimeZone (wall clock in an IANA, Windows or UTC zone) as an instant. */
export function instantOf(dateTime: string, zone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?/.exec(dateTime);
  if (!m) return NaN;
  const asUtc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? Math.round(Number(m[7]) * 1000) : 0);
  const offsetAt = (t: number): number => {
    const w = wallParts(t, zone);
    return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(t / 1000) * 1000;
  };
  let t = asUtc - offsetAt(asUtc);
  t = asUtc - offsetAt(t);
  return t;
}

const graphTime = (ms: number, zone: string) => ({ dateTime: wallClock(ms, zone), timeZone: zone });
const iso = (ms: number): string => new Date(ms).toISOString();
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

// ---- the world a run plays in -------------------------------------------------------------------------------------

interface Member {
  upn: string;
  userId: string;
  calendarId: string;
  recordId: number;
  coworkerId: number;
  deskId: number;
}

interface Room {
  upn: string;
  name: string;
  resourceId: number;
}

interface Handle {
  member: number;
  id: string;
  series: boolean;
  label: string;
}

/** An API booking the simulation made, and what it should be if only the API touched it. */
/** An Outlook booking cancelled through the API: the resource should leave the member's event (unless they act on it). */
interface OutlookCancel {
  member: number;
  bookingId: number;
  eventId: string;
  masterId: string | null;
  resourceId: number;
  touched: boolean;
}

interface ApiHandle {
  bookingId: number;
  uniqueId: string;
  coworker: number;
  resourceId: number;
  from: number;
  to: number;
  cancelledByApi: boolean;
  /** A member acted on its Outlook event (then calbridge may rightly move or cancel it). */
  touched: boolean;
  /** An API move put it outside the horizon of the member's calendar as it was then (its last full round's). */
  movedOutOfHorizon: boolean;
}

export interface Discrepancy {
  kind: string;
  detail: string;
}

export interface SimStats {
  steps: number;
  actions: Record<string, number>;
  noops: number;
  apiRejected: number;
  activeOutlook: number;
  activeApi: number;
  cancelled: number;
  conflicts: number;
  wantedPairs: number;
  /** Wanted pairs held by another member's copy of the same meeting. */
  heldByCopies: number;
  marked: number;
  subscriptionsMade: number;
  rounds: number;
  fullRounds: number;
  simulatedHours: number;
  ms: number;
}

export interface SimResult {
  discrepancies: Discrepancy[];
  /** Discrepancies of kinds the caller chose to tolerate (known bugs). */
  tolerated: Discrepancy[];
  stats: SimStats;
  log: string[];
  /** With captureLogs: the app's log lines at level warn and above. */
  appLog: string[];
}

export interface SimOptions {
  /** Discrepancy kinds that do not fail the run (still reported). */
  tolerate?: ReadonlySet<string>;
  /** Keep the app's, queue's and engine's warnings and errors (SimResult.appLog). */
  captureLogs?: boolean;
  /** Only these discrepancy kinds fail the run (the others are tolerated): keeps shrinking on one problem. */
  focus?: ReadonlySet<string>;
  /** Called with every log line as it happens. */
  onLog?: (line: string) => void;
  /** Called with the environment before it is closed (debugging). */
  inspect?: (env: GraphEnv) => Promise<void>;
}

/** What the checks read: the API's and the emulator's final state (plain data, so the model is a pure function). */
export interface Observed {
  members: Array<Member & { status: any; instances: any[]; items: any[]; liveSubscriptions: string[] }>;
  rooms: Room[];
  guestCoworkerId: number;
  bookings: any[];
  cancelled: any[];
  conflicts: any[];
  deadJobs: Array<{ type: string; error: string | null }>;
  api: ApiHandle[];
  outlookCancels: OutlookCancel[];
  reconciledAfter: number;
}

async function busyJobs(env: GraphEnv): Promise<boolean> {
  const now = env.clock.now();
  const rows = await env.storage.db.selectFrom('jobs').select('id')
    .where((eb) => eb.or([eb('state', '=', 'running'), eb.and([eb('state', '=', 'pending'), eb('run_at', '<=', now + 5_000)])]))
    .limit(1).execute();
  return rows.length > 0;
}

function notifierIdle(env: GraphEnv): boolean {
  const p = env.emu.control.state().pendingNotifications as { queued: number; inflight: number; retries: number };
  return p.queued === 0 && p.inflight === 0 && p.retries === 0;
}

/**
 * Waits until the system has nothing left to do: nothing queued, in flight or retrying at the emulator's notifier, and
 * nothing running or due within 5 s (retries included) in calbridge's job queue, twice in a row.
 */
export async function settleAll(env: GraphEnv, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  while (calm < 2) {
    if (Date.now() > deadline) throw new Error('the system did not settle');
    await env.emu.control.waitForIdle(timeoutMs);
    await env.until('the job queue to settle', async () => !(await busyJobs(env)), timeoutMs);
    await new Promise((r) => setTimeout(r, 30));
    calm = notifierIdle(env) && !(await busyJobs(env)) ? calm + 1 : 0;
  }
}

class Simulation {
  readonly log: string[] = [];
  private members: Member[] = [];
  private rooms: Room[] = [];
  private guestCoworkerId = 0;
  private handles: Handle[] = [];
  private api: ApiHandle[] = [];
  private outlookCancels: OutlookCancel[] = [];
  private observerClientId = '';
  private start = 0;
  private base = 0;
  private seq = 0;
  reconciledAfter = 0;
  readonly stats: SimStats = {
    steps: 0, actions: {}, noops: 0, apiRejected: 0, activeOutlook: 0, activeApi: 0, cancelled: 0, conflicts: 0, wantedPairs: 0, heldByCopies: 0, marked: 0,
    subscriptionsMade: 0, rounds: 0, fullRounds: 0, simulatedHours: 0, ms: 0,
  };

  constructor(readonly env: GraphEnv, private readonly opts: SimOptions) {}

  private note(line: string): void {
    this.log.push(line);
    this.opts.onLog?.(line);
  }

  private get control() {
    return this.env.emu.control;
  }

  private async api200(method: string, path: string, body?: unknown): Promise<any> {
    const r = await this.env.request(method, path, body);
    if (r.status !== 200) throw new Error(`${method} ${path} → ${r.status} ${r.text}`);
    return r.body;
  }

  // ---- setup --------------------------------------------------------------------------------------------------------

  async setup(): Promise<void> {
    const c = this.control;
    const tenantId = this.env.seed.tenant.id;
    for (const name of MEMBERS) if (!c.listUsers().some((u) => u.userPrincipalName === `${name}@${DOMAIN}`)) c.createUser({ tenantId, displayName: name, userPrincipalName: `${name}@${DOMAIN}` });
    for (const name of ROOMS) if (!c.listUsers().some((u) => u.userPrincipalName === `${name}@${DOMAIN}`)) c.createUser({ tenantId, displayName: `Room ${name}`, userPrincipalName: `${name}@${DOMAIN}`, kind: 'room' });
    // The observer reads calendars as another app: its requests count against its own Outlook limits, not calbridge's.
    this.observerClientId = c.createApp({ tenantId, displayName: 'simulation observer' } as never).clientId;

    for (const [i, name] of ROOMS.entries()) {
      // One CalendarEmail in mixed case: matching is case-insensitive.
      const email = i === 1 ? `${name[0]!.toUpperCase()}${name.slice(1)}@Contoso.onmicrosoft.com` : `${name}@${DOMAIN}`;
      const made = await this.api200('POST', '/api/spaces/resources', { Name: name, CalendarEmail: email });
      this.rooms.push({ upn: `${name}@${DOMAIN}`, name, resourceId: made.Value.Id });
    }
    for (const name of MEMBERS) {
      const upn = `${name}@${DOMAIN}`;
      const user = c.user(upn);
      const calendarId = c.defaultCalendar(upn).id;
      const coworker = await this.api200('POST', '/api/spaces/coworkers', { FullName: name, Email: upn });
      const desk = await this.api200('POST', '/api/spaces/resources', { Name: `Desk of ${name}` });
      const record = await this.api200('POST', '/api/spaces/coworkermsofficecalendars', {
        ResourceId: desk.Value.Id, CoworkerId: coworker.Value.Id, Name: `${name} calendar`, SubscriptionId: 'pending', CalendarId: calendarId, SubscriptionExpireDate: '2030-01-01T00:00:00Z',
      });
      this.members.push({ upn, userId: user.id, calendarId, recordId: record.Value.Id, coworkerId: coworker.Value.Id, deskId: desk.Value.Id });
    }
    this.guestCoworkerId = (await this.api200('POST', '/api/spaces/coworkers', { FullName: 'Guest', Email: 'guest@example.test' })).Value.Id;
    for (const m of this.members) await this.env.untilState(m.recordId, 'active', 30_000);
    await this.quiesce();
    this.start = Math.floor(this.env.clock.now() / MINUTE) * MINUTE;
    this.base = Math.floor((this.start + 4 * DAY) / DAY) * DAY;
    this.note(`setup: ${MEMBERS.length} members, ${ROOMS.length} rooms, clock ${iso(this.start)}, near grid from ${iso(this.base + 9 * HOUR)}`);
  }

  // ---- waiting --------------------------------------------------------------------------------------------------------

  /** Until nothing is queued at the emulator's notifier and nothing is running or due (soon) in the job queue, twice in a row. */
  quiesce(timeoutMs = 90_000): Promise<void> {
    return settleAll(this.env, timeoutMs);
  }

  // ---- times ----------------------------------------------------------------------------------------------------------

  times(slot: Slot): { start: number; end: number; allDay: boolean } {
    const grid = (origin: number) => {
      const start = origin + 9 * HOUR + slot.half * HALF_HOUR;
      return { start, end: start + slot.len * HALF_HOUR, allDay: false };
    };
    switch (slot.where) {
      case 'near': {
        if (!slot.allDay) return grid(this.base + slot.day * DAY);
        const date = iso(this.base + slot.day * DAY).slice(0, 10);
        const next = iso(this.base + (slot.day + 1) * DAY).slice(0, 10);
        return { start: instantOf(`${date}T00:00:00`, slot.zone), end: instantOf(`${next}T00:00:00`, slot.zone), allDay: true };
      }
      case 'past': return grid(this.base - 9 * DAY);
      case 'far': return grid(this.base + 240 * DAY);
      // Around the horizon's edges: in or out of it depending on how far the clock has moved by the last full round.
      case 'edgeFuture': { const start = this.start + HORIZON_FUTURE_MS + (2 + 2 * slot.half) * HOUR; return { start, end: start + slot.len * HALF_HOUR, allDay: false }; }
      case 'edgePast': { const start = this.start - HORIZON_PAST_MS + (1 + 2 * slot.half) * HOUR; return { start, end: start + slot.len * HALF_HOUR, allDay: false }; }
    }
  }

  private timeFields(slot: Slot) {
    const t = this.times(slot);
    return { start: graphTime(t.start, slot.zone), end: graphTime(t.end, slot.zone), isAllDay: t.allDay };
  }

  private inviteFields(inv: Invite) {
    const address = (r: number) => (inv.upper ? this.rooms[r]!.upn.toUpperCase() : this.rooms[r]!.upn);
    const rooms = [...inv.rooms];
    const located = inv.via === 'location' ? rooms.shift() : undefined;
    return {
      attendees: [
        { type: 'required', emailAddress: { address: `someone@${DOMAIN}`, name: 'Someone' } },
        ...rooms.map((r) => ({ type: inv.via === 'required' ? 'required' : 'resource', emailAddress: { address: address(r), name: this.rooms[r]!.name } })),
      ],
      location: located === undefined ? { displayName: 'Somewhere' } : { displayName: this.rooms[located]!.name, locationEmailAddress: address(located) },
    };
  }

  // ---- targets --------------------------------------------------------------------------------------------------------

  private observerToken(): string {
    return this.control.issueAppToken(this.observerClientId);
  }

  /** GET on the emulator's Graph as the observer app (all pages, UTC times). */
  async graphList(path: string): Promise<any[]> {
    const out: any[] = [];
    let url = `${this.env.emu.url}/v1.0${path}`;
    for (let attempt = 0; ; ) {
      const res = await fetch(url, { headers: { authorization: `Bearer ${this.observerToken()}`, prefer: 'outlook.timezone="UTC", odata.maxpagesize=1000' } });
      if (res.status === 429 && attempt++ < 20) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const body = (await res.json()) as any;
      if (res.status !== 200) throw new Error(`GET ${url} → ${res.status} ${JSON.stringify(body)}`);
      out.push(...body.value);
      if (!body['@odata.nextLink']) return out;
      url = body['@odata.nextLink'];
    }
  }

  private async resolve(t: Target): Promise<{ id: string; label: string; api: ApiHandle | undefined } | undefined> {
    const m = this.members[t.member]!;
    const items = this.control.listEvents(m.upn) as any[];
    const exists = new Set(items.map((e) => e.id));
    const candidates: Array<{ id: string; series: boolean; label: string; api?: ApiHandle }> = this.handles.filter((h) => h.member === t.member && exists.has(h.id));
    for (const a of this.api) {
      if (a.coworker !== t.member) continue;
      const e = items.find((x) => x.transactionId === a.uniqueId);
      if (e) candidates.push({ id: e.id, series: false, label: `api#${a.bookingId}`, api: a });
    }
    if (!candidates.length) return undefined;
    const item = candidates[t.pick % candidates.length]!;
    if (t.occ === null || !item.series) return { id: item.id, label: item.label, api: item.api };
    const window = `startDateTime=${iso(this.start - 30 * DAY)}&endDateTime=${iso(this.start + 400 * DAY)}`;
    const occurrences = (await this.graphList(`/users/${encodeURIComponent(m.upn)}/events/${encodeURIComponent(item.id)}/instances?${window}`))
      .sort((a, b) => Date.parse(a.originalStart) - Date.parse(b.originalStart));
    if (!occurrences.length) return undefined;
    const k = t.occ % occurrences.length;
    return { id: occurrences[k].id, label: `${item.label}[${k}]`, api: undefined };
  }

  private liveSubscription(memberIndex: number): string | undefined {
    const m = this.members[memberIndex]!;
    return this.control.listSubscriptions().find((s) => s.userId === m.userId && s.appId === this.env.seed.app.clientId)?.id;
  }

  // ---- steps ----------------------------------------------------------------------------------------------------------

  async step(i: number, a: Action): Promise<void> {
    this.stats.steps++;
    this.stats.actions[a.t] = (this.stats.actions[a.t] ?? 0) + 1;
    let outcome: string;
    try {
      outcome = await this.perform(a);
    } catch (err) {
      const e = err as { status?: number; code?: string; message?: string };
      // The emulator's GraphError for a target that is gone or a change it refuses: the step does nothing.
      if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && typeof e.code === 'string') {
        this.stats.noops++;
        outcome = `no-op (${e.status} ${e.code}: ${e.message})`;
      } else throw err;
    }
    this.note(`#${i} ${describeAction(a)} → ${outcome}`);
  }

  private async perform(a: Action): Promise<string> {
    const c = this.control;
    switch (a.t) {
      case 'create': {
        const m = this.members[a.member]!;
        const label = `m${a.member}e${++this.seq}`;
        const tf = this.timeFields(a.slot);
        const body: Record<string, unknown> = {
          subject: label,
          body: a.html ? { contentType: 'html', content: '<html><body><p>Agenda</p></body></html>' } : { contentType: 'text', content: 'Agenda' },
          ...tf, showAs: a.showAs, ...this.inviteFields(a.invite),
        };
        if (a.series) {
          const local = wallParts(this.times(a.slot).start, a.slot.zone);
          body.recurrence = {
            pattern: a.series.type === 'daily'
              ? { type: 'daily', interval: a.series.interval }
              : { type: 'weekly', interval: 1, daysOfWeek: [DAYS[new Date(Date.UTC(local.y, local.mo - 1, local.d)).getUTCDay()]], firstDayOfWeek: 'sunday' },
            range: { type: 'numbered', startDate: `${pad(local.y, 4)}-${pad(local.mo)}-${pad(local.d)}`, numberOfOccurrences: a.series.count },
          };
        }
        const made = c.createEvent(m.upn, body as never) as any;
        this.handles.push({ member: a.member, id: made.id, series: Boolean(a.series), label });
        return `${label} ${made.start.dateTime}Z`;
      }
      case 'move':
      case 'edit':
      case 'invite':
      case 'cancel': {
        const target = await this.resolve(a.target);
        if (!target) {
          this.stats.noops++;
          return 'no-op (no such event)';
        }
        const upn = this.members[a.target.member]!.upn;
        if (target.api) target.api.touched = true;
        for (const x of this.outlookCancels) if (x.member === a.target.member && (x.eventId === target.id || x.masterId === target.id)) x.touched = true;
        if (a.t === 'move') c.updateEvent(upn, target.id, this.timeFields(a.slot) as never);
        else if (a.t === 'edit') c.updateEvent(upn, target.id, { ...(a.subject ? { subject: `${target.label} edited ${++this.seq}` } : {}), ...(a.showAs ? { showAs: a.showAs } : {}) } as never);
        else if (a.t === 'invite') c.updateEvent(upn, target.id, this.inviteFields(a.invite) as never);
        else if (a.how === 'delete') c.deleteEvent(upn, target.id);
        else c.updateEvent(upn, target.id, { isCancelled: true } as never);
        return target.label;
      }
      case 'share': {
        // The whole meeting (a series' master, not one occurrence), as the organiser's calendar has it now.
        const target = await this.resolve({ ...a.target, occ: null });
        if (!target || target.api || a.peer === a.target.member) {
          this.stats.noops++;
          return 'no-op (nothing to share)';
        }
        const original = c.getEvent(this.members[a.target.member]!.upn, target.id) as any;
        // A mailbox holds one copy of a meeting: Exchange does not deliver another to someone who has it.
        if ((c.listEvents(this.members[a.peer]!.upn) as any[]).some((e) => e.iCalUId === original.iCalUId)) {
          this.stats.noops++;
          return 'no-op (the peer has this meeting)';
        }
        const copy = c.createEvent(this.members[a.peer]!.upn, {
          // The invitation's own body (the organiser's copy may carry calbridge's mark, which is not sent to attendees).
          subject: original.subject, body: { contentType: 'text', content: 'Agenda' }, start: original.start, end: original.end, isAllDay: original.isAllDay, showAs: original.showAs,
          attendees: original.attendees, location: original.location, iCalUId: original.iCalUId, ...(original.recurrence ? { recurrence: original.recurrence } : {}),
        } as never) as any;
        const label = `${target.label}~m${a.peer}`;
        this.handles.push({ member: a.peer, id: copy.id, series: Boolean(original.recurrence), label });
        return label;
      }
      case 'apiBook': {
        const t = this.times(a.slot);
        const coworkerId = a.coworker < this.members.length ? this.members[a.coworker]!.coworkerId : this.guestCoworkerId;
        const resourceId = this.rooms[a.room]!.resourceId;
        const r = await this.env.request('POST', '/api/spaces/bookings', { ResourceId: resourceId, CoworkerId: coworkerId, FromTime: iso(t.start), ToTime: iso(t.end), Notes: 'api' });
        if (r.status !== 200) {
          this.stats.apiRejected++;
          return `rejected ${r.status} ${r.body?.Errors?.[0]?.Message ?? r.text}`;
        }
        const b = r.body.Value;
        this.api.push({ bookingId: b.Id, uniqueId: b.UniqueId, coworker: a.coworker, resourceId, from: t.start, to: t.end, cancelledByApi: false, touched: false, movedOutOfHorizon: false });
        return `booking ${b.Id}`;
      }
      case 'apiMove':
      case 'apiCancel': {
        let id: number | undefined;
        let handle: ApiHandle | undefined;
        let outlookBooking: any;
        if (a.source === 'api') {
          const open = this.api.filter((x) => !x.cancelledByApi);
          handle = open.length ? open[a.pick % open.length] : undefined;
          id = handle?.bookingId;
        } else {
          const outlook = (await this.all('/api/spaces/bookings?Booking_Source=outlook'))
            .sort((x, y) => Date.parse(x.FromTime) - Date.parse(y.FromTime) || x.ResourceId - y.ResourceId || String(x.Office365EventId).localeCompare(String(y.Office365EventId)));
          outlookBooking = outlook.length ? outlook[a.pick % outlook.length] : undefined;
          id = outlookBooking?.Id;
        }
        if (id === undefined) {
          this.stats.noops++;
          return 'no-op (no booking)';
        }
        if (a.t === 'apiCancel') {
          const r = await this.env.request('DELETE', `/api/spaces/bookings/${id}`);
          if (r.status === 200 && handle) handle.cancelledByApi = true;
          if (r.status === 200 && outlookBooking) {
            const member = this.members.findIndex((m) => m.recordId === outlookBooking.CoworkerMsOfficeCalendarId);
            let masterId: string | null = null;
            try {
              masterId = (c.getEvent(this.members[member]!.upn, outlookBooking.Office365EventId) as any).seriesMasterId ?? null;
            } catch {
              /* gone already */
            }
            this.outlookCancels.push({ member, bookingId: id, eventId: outlookBooking.Office365EventId, masterId, resourceId: outlookBooking.ResourceId, touched: false });
          }
          if (r.status !== 200) this.stats.apiRejected++;
          return `cancel ${id} → ${r.status}`;
        }
        const got = await this.env.request('GET', `/api/spaces/bookings/${id}`);
        if (got.status !== 200) {
          this.stats.apiRejected++;
          return `move ${id}: gone (${got.status})`;
        }
        const t = this.times(a.slot);
        const r = await this.env.request('PUT', '/api/spaces/bookings', { ...got.body, FromTime: iso(t.start), ToTime: iso(t.end) });
        if (r.status === 200 && handle) {
          Object.assign(handle, { from: t.start, to: t.end });
          const m = this.members[handle.coworker];
          const last = m ? Date.parse((await this.env.connection(m.recordId))?.last_full_sync_at ?? '') : NaN;
          if (m && !(t.start < last + HORIZON_FUTURE_MS && t.end > last - HORIZON_PAST_MS)) handle.movedOutOfHorizon = true;
        }
        if (r.status !== 200) this.stats.apiRejected++;
        return `move ${id} → ${r.status}${r.status === 200 ? '' : ` ${r.body?.Errors?.[0]?.Message ?? r.text}`}`;
      }
      case 'notifications': {
        const subscriptionId = a.member === null ? undefined : this.liveSubscription(a.member);
        if (a.fault === 'drop') c.dropNotifications(a.count, subscriptionId ? { subscriptionId } : {});
        else c.duplicateNotifications(a.count, subscriptionId ? { subscriptionId } : {});
        return subscriptionId ?? 'any subscription';
      }
      case 'subscription': {
        const id = this.liveSubscription(a.member);
        if (!id) {
          this.stats.noops++;
          return 'no-op (no live subscription)';
        }
        if (a.how === 'expire') c.expireSubscription(id);
        else if (a.how === 'remove') c.removeSubscription(id, { notify: false });
        else if (a.how === 'removeNotify') c.removeSubscription(id, { notify: true });
        else c.sendLifecycle(id, a.how === 'missed' ? 'missed' : 'reauthorizationRequired');
        return id;
      }
      case 'deltaReset':
        return `${c.invalidateDeltaTokens(this.members[a.member]!.upn)} token(s)`;
      case 'graphFault': {
        const where = a.on === 'delta' ? { path: '/calendarView/delta' } : a.on === 'subscriptions' ? { path: '/subscriptions' } : { pathRegex: '/events(/[^/]+)?$' };
        const what = a.fault === 'delay' ? { delayMs: a.delayMs } : { status: Number(a.fault), retryAfter: 1 };
        c.addFault({ ...where, ...what, times: a.times });
        return 'armed';
      }
      case 'webhooks':
        c.updateSettings({ notificationBatchDelayMs: a.batchDelayMs, updatesPerChange: a.updatesPerChange });
        return 'set';
      case 'dedicated': {
        const r = await this.env.request('POST', '/api/spaces/coworkermsofficecalendars/runcommand', { Key: a.on ? 'MARK_DEDICATED' : 'UNMARK_DEDICATED', Ids: [this.members[a.member]!.recordId] });
        return `${r.status}`;
      }
      case 'advance':
        // Long stretches of time pass between bursts of work, not in the middle of a request: a jump of an hour between
        // a token's issue and its use would only test the harness (a second 401 in a row parks the connection).
        await this.quiesce();
        this.env.advance(a.minutes * MINUTE);
        return iso(this.env.clock.now());
      case 'jump':
        this.env.advance(a.seconds * 1000);
        return iso(this.env.clock.now());
      case 'settle':
        await this.quiesce();
        return 'settled';
    }
  }

  // ---- the end: settle, reconcile, observe ----------------------------------------------------------------------------

  /** Faults off, settle, move the clock past the reconciliation interval (and a sweep), wait for every full round. */
  async finish(): Promise<Discrepancy[]> {
    const c = this.control;
    c.clearFaults();
    c.updateSettings({ notificationBatchDelayMs: 10, updatesPerChange: 1 });
    await this.quiesce();
    const problems: Discrepancy[] = [];
    const before = this.env.clock.now();
    this.env.advance(RECONCILE_EVERY_MS + SWEEP_EVERY_MS + MINUTE);
    this.reconciledAfter = before;
    try {
      await this.env.until('a full round of every calendar after the reconciliation', async () => {
        let done = true;
        for (const m of this.members) {
          const conn = await this.env.connection(m.recordId);
          // A connection that needs a person (sign-in) will not reconcile: no use waiting for it.
          if (conn && ['reauth_required', 'credentials_missing'].includes(conn.state)) throw new Error(`${m.upn} is ${conn.state}`);
          if (!conn?.last_full_sync_at || Date.parse(conn.last_full_sync_at) < before) done = false;
        }
        return done;
      }, 60_000);
    } catch {
      const late = [];
      for (const m of this.members) {
        const conn = await this.env.connection(m.recordId);
        if (!conn?.last_full_sync_at || Date.parse(conn.last_full_sync_at) < before) late.push(`${m.upn} (state ${conn?.state}, last full round ${conn?.last_full_sync_at}, error ${conn?.last_error})`);
      }
      problems.push({ kind: 'no-reconciliation', detail: `no full round after the reconciliation for ${late.join(', ')}` });
    }
    await this.quiesce();
    this.stats.simulatedHours = Math.round((this.env.clock.now() - this.start) / HOUR * 10) / 10;
    return problems;
  }

  async all(path: string): Promise<any[]> {
    const out: any[] = [];
    for (let page = 1; ; page++) {
      const body = await this.api200('GET', `${path}${path.includes('?') ? '&' : '?'}size=1000&page=${page}`);
      out.push(...body.Records);
      if (!body.HasNextPage) return out;
    }
  }

  async observe(): Promise<Observed> {
    const c = this.control;
    const window = `startDateTime=${iso(this.start - 30 * DAY)}&endDateTime=${iso(this.start + 400 * DAY)}`;
    const subs = c.listSubscriptions();
    this.stats.subscriptionsMade = c.listSubscriptions({ includeRemoved: true }).filter((s) => s.appId === this.env.seed.app.clientId).length;
    const members = [];
    for (const m of this.members) {
      members.push({
        ...m,
        status: await this.api200('GET', `/api/spaces/coworkermsofficecalendars/${m.recordId}/status`),
        instances: await this.graphList(`/users/${encodeURIComponent(m.upn)}/calendars/${encodeURIComponent(m.calendarId)}/calendarView?${window}`),
        items: c.listEvents(m.upn, { tz: 'UTC' }) as any[],
        liveSubscriptions: subs.filter((s) => s.userId === m.userId && s.appId === this.env.seed.app.clientId).map((s) => s.id),
      });
    }
    const dead = await this.env.storage.db.selectFrom('jobs').select(['type', 'last_error']).where('state', '=', 'dead').execute();
    this.stats.rounds = this.env.sink.rounds.length;
    this.stats.fullRounds = this.env.sink.rounds.filter((r) => r.full).length;
    return {
      members, rooms: this.rooms, guestCoworkerId: this.guestCoworkerId,
      bookings: await this.all('/api/spaces/bookings'),
      cancelled: await this.all('/api/spaces/cancelledbookings'),
      conflicts: await this.all('/api/spaces/bookingconflicts'),
      deadJobs: dead.map((d) => ({ type: d.type, error: d.last_error ?? null })),
      api: this.api.map((a) => ({ ...a })),
      outlookCancels: this.outlookCancels.map((x) => ({ ...x })),
      reconciledAfter: this.reconciledAfter,
    };
  }
}

// ---- the model ------------------------------------------------------------------------------------------------------

interface Inst {
  member: number;
  id: string;
  start: number;
  end: number;
  subject: string;
  showAs: string;
  isCancelled: boolean;
  categories: string[];
  body: { contentType?: string; content?: string };
  transactionId: string | null;
  /** One meeting's copies in several members' calendars share it (each occurrence its own). */
  iCalUId: string | null;
  rooms: Set<number>;
  inWindow: boolean;
  nearEdge: boolean;
}

const ms = (isoText: string): number => Date.parse(isoText);
const span = (from: number, to: number): string => `${iso(from)}..${iso(to)}`;

/** calbridge's first line in an event's body (text: the first line; html: the first paragraph). */
function hasMarkLine(body: Inst['body']): boolean {
  const content = body?.content ?? '';
  return body?.contentType === 'html' ? /^(\s*<html[^>]*>)?(\s*<head>[\s\S]*?<\/head>)?(\s*<body[^>]*>)?\s*<p>calbridge:/i.test(content) : content.startsWith('calbridge:');
}

/**
 * The model. From the emulator's final state: each member's instances in the horizon of its last full round
 * (−1 … +180 days), what each wants (busy, tentative or oof; not cancelled; the rooms whose mailbox it names as an
 * attendee of any type or as a location, plus the member's own desk in a dedicated booking calendar), and the checks
 * (a)–(g) against the API's bookings and conflicts. Who wins a collision depends on processing order, so the model
 * asks that each wanted (occurrence, resource) pair is booked exactly as the occurrence says, or is an open conflict
 * that really collides with an active booking of that resource.
 */
export function checkModel(o: Observed): { discrepancies: Discrepancy[]; wantedPairs: number; heldByCopies: number; marked: number } {
  const out: Discrepancy[] = [];
  const add = (kind: string, detail: string) => out.push({ kind, detail });
  const roomByEmail = new Map(o.rooms.map((r) => [r.upn.toLowerCase(), r.resourceId]));
  const resourceName = new Map<number, string>([...o.rooms.map((r) => [r.resourceId, r.name] as const), ...o.members.map((m) => [m.deskId, `desk of ${m.upn}`] as const)]);
  const rname = (id: number) => resourceName.get(id) ?? `resource ${id}`;
  const byRecord = new Map(o.members.map((m, i) => [m.recordId, i]));
  const active = o.bookings;
  const outlook = active.filter((b) => b.Source === 'outlook');
  const apiActive = active.filter((b) => b.Source === 'api');

  // Instances and what they want.
  const insts: Inst[] = [];
  const instById = new Map<string, Inst>();
  for (const [mi, m] of o.members.entries()) {
    const last = m.status.LastFullSync ? ms(m.status.LastFullSync) : NaN;
    const ws = last - HORIZON_PAST_MS;
    const we = last + HORIZON_FUTURE_MS;
    for (const e of m.instances) {
      const start = instantOf(e.start.dateTime, e.start.timeZone);
      const end = instantOf(e.end.dateTime, e.end.timeZone);
      const rooms = new Set<number>();
      for (const address of [...(e.attendees ?? []).map((a: any) => a.emailAddress?.address), e.location?.locationEmailAddress, ...(e.locations ?? []).map((l: any) => l.locationEmailAddress)]) {
        const id = address ? roomByEmail.get(String(address).trim().toLowerCase()) : undefined;
        if (id !== undefined) rooms.add(id);
      }
      const i: Inst = {
        member: mi, id: e.id, start, end, subject: e.subject, showAs: e.showAs, isCancelled: Boolean(e.isCancelled), categories: e.categories ?? [],
        body: e.body ?? {}, transactionId: e.transactionId ?? null, iCalUId: e.iCalUId ?? null, rooms,
        inWindow: start < we && end > ws,
        nearEdge: Math.abs(start - we) < EDGE_MARGIN_MS || Math.abs(end - ws) < EDGE_MARGIN_MS || Number.isNaN(last),
      };
      insts.push(i);
      instById.set(`${mi}|${i.id}`, i);
    }
  }
  // API bookings and the events calbridge wrote for them (by event id or transactionId), in their member's calendar.
  const apiOf = (i: Inst) => apiActive.filter((b) => b.CoworkerId === o.members[i.member]!.coworkerId
    && (b.Office365EventId === i.id || (i.transactionId !== null && i.transactionId === b.UniqueId)));
  const wants = (i: Inst, evenOutsideWindow = false): Set<number> => {
    if ((!i.inWindow && !evenOutsideWindow) || i.isCancelled || !BOOKING_SHOW_AS.has(i.showAs) || !(i.end > i.start)) return new Set();
    const w = new Set(i.rooms);
    // A dedicated booking calendar books its desk for the member's events, not for calbridge's own (an API booking's).
    if (o.members[i.member]!.status.DedicatedBookingCalendar && !apiOf(i).length) w.add(o.members[i.member]!.deskId);
    return w;
  };
  const label = (i: Inst) => `${o.members[i.member]!.upn.split('@')[0]} "${i.subject}" ${span(i.start, i.end)} (${i.id.slice(-12)})`;
  const collides = (resourceId: number, from: number, to: number, except?: number) =>
    active.filter((b) => b.ResourceId === resourceId && b.Id !== except && ms(b.FromTime) < to && ms(b.ToTime) > from);
  /** Another member's Outlook booking of the resource for a copy of the same meeting (one iCalUId, the same times). */
  const heldByCopy = (i: Inst, resourceId: number) => outlook.filter((b) => {
    const mi = byRecord.get(b.CoworkerMsOfficeCalendarId);
    const j = mi === undefined || mi === i.member ? undefined : instById.get(`${mi}|${b.Office365EventId}`);
    return b.ResourceId === resourceId && j !== undefined && i.iCalUId !== null && j.iCalUId === i.iCalUId && j.start === i.start && j.end === i.end
      && ms(b.FromTime) === i.start && ms(b.ToTime) === i.end;
  });

  // (a)+(f): no resource is double-booked, whatever the sources.
  const byResource = new Map<number, any[]>();
  for (const b of active) byResource.set(b.ResourceId, [...(byResource.get(b.ResourceId) ?? []), b]);
  for (const [resourceId, list] of byResource) {
    list.sort((x, y) => ms(x.FromTime) - ms(y.FromTime));
    for (let k = 0; k < list.length; k++) {
      for (let j = k + 1; j < list.length && ms(list[j].FromTime) < ms(list[k].ToTime); j++) {
        add('double-booked', `${rname(resourceId)}: booking ${list[k].Id} (${list[k].Source}, ${list[k].FromTime}..${list[k].ToTime}) overlaps booking ${list[j].Id} (${list[j].Source}, ${list[j].FromTime}..${list[j].ToTime})`);
      }
    }
  }

  // (b): every wanted pair is booked exactly as the occurrence says, or is an open conflict that really collides.
  let wantedPairs = 0;
  let heldByCopies = 0;
  const explained = new Set<any>();
  for (const i of insts) {
    if (i.nearEdge) continue;
    const m = o.members[i.member]!;
    const linked = apiOf(i);
    for (const resourceId of wants(i)) {
      wantedPairs++;
      const own = outlook.filter((b) => b.CoworkerMsOfficeCalendarId === m.recordId && b.Office365EventId === i.id && b.ResourceId === resourceId);
      const api = linked.filter((b) => b.ResourceId === resourceId);
      const conflicts = o.conflicts.filter((c) => c.CoworkerMsOfficeCalendarId === m.recordId && c.Office365EventId === i.id && c.ResourceId === resourceId);
      for (const x of [...own, ...api, ...conflicts]) explained.add(x);
      const n = own.length + api.length + conflicts.length;
      const what = `${label(i)} wants ${rname(resourceId)}`;
      // Another member's copy of this meeting holds the resource: booked once, so this copy is neither booked nor a
      // listed conflict (it waits behind that booking, unmarked).
      const held = heldByCopy(i, resourceId);
      if (held.length) {
        heldByCopies++;
        if (n > 0) add('same-meeting-booked-twice', `${what}: booking ${held[0].Id} of another member's copy holds it, yet this copy has ${own.length} Outlook booking(s), ${api.length} API booking(s), ${conflicts.length} listed conflict(s)`);
        continue;
      }
      if (n === 0) {
        add('missing', `${what}: neither booked nor a conflict`);
        continue;
      }
      // A conflict blocked by the pair's own booking: the pair was booked by one transaction while another (which
      // had not seen that booking when it loaded the connection's bookings) found it in its overlap check.
      const booked = [...own, ...api];
      const selfBlocked = conflicts.length > 0 && booked.length === 1 && conflicts.every((c) => booked.some((b) => b.Id === c.BlockingBookingId));
      // A conflict at the times of an earlier version of the occurrence beside its booking: an older round's conflict
      // that the round which booked it had not loaded (it committed in between).
      const olderBeside = conflicts.length > 0 && booked.length === 1 && conflicts.every((c) => ms(c.FromTime) !== i.start || ms(c.ToTime) !== i.end);
      if (n > 1) add(selfBlocked ? 'self-blocked-conflict' : olderBeside ? 'older-conflict-beside-booking' : 'duplicate', `${what}: ${own.length} Outlook booking(s) ${own.map((b) => b.Id).join(',')}, ${api.length} API booking(s) ${api.map((b) => b.Id).join(',')}, ${conflicts.length} conflict(s)${conflicts.map((c) => ` [conflict ${c.Id} blocked by ${c.BlockingBookingId}, detected ${c.DetectedOn}]`).join('')}`);
      for (const b of own) {
        if (ms(b.FromTime) !== i.start || ms(b.ToTime) !== i.end) add('booking-times', `${what}: booking ${b.Id} is at ${b.FromTime}..${b.ToTime}`);
        if (Boolean(b.Tentative) !== (i.showAs === 'tentative')) add('booking-tentative', `${what}: booking ${b.Id} has Tentative ${b.Tentative} but showAs is ${i.showAs}`);
        if (b.CoworkerId !== m.coworkerId) add('booking-coworker', `${what}: booking ${b.Id} is for coworker ${b.CoworkerId}, not ${m.coworkerId}`);
        if (b.Notes !== i.subject) add('notes', `${what}: booking ${b.Id} has Notes "${b.Notes}", the subject is "${i.subject}"`);
      }
      for (const b of api) {
        if (ms(b.FromTime) !== i.start || ms(b.ToTime) !== i.end) add('api-times', `${what}: its API booking ${b.Id} is at ${b.FromTime}..${b.ToTime}`);
      }
      for (const c of conflicts) {
        if (selfBlocked || olderBeside) continue;
        if (!collides(resourceId, i.start, i.end).length) add('stale-conflict', `${what}: conflict ${c.Id} but nothing of ${rname(resourceId)} is booked at that time (blocking booking ${c.BlockingBookingId})`);
        if (ms(c.FromTime) !== i.start || ms(c.ToTime) !== i.end) add('conflict-times', `${what}: conflict ${c.Id} is at ${c.FromTime}..${c.ToTime}`);
      }
    }
  }

  // (c): nothing left behind by moved, cancelled or uninvited events.
  for (const b of outlook) {
    if (explained.has(b)) continue;
    const mi = byRecord.get(b.CoworkerMsOfficeCalendarId);
    const i = mi === undefined ? undefined : instById.get(`${mi}|${b.Office365EventId}`);
    if (i?.nearEdge) continue;
    // Outside the horizon and as its event says (booked while inside and now past it, kept as history; or moved there
    // through the API, with its event): no round looks there.
    if (i && !i.inWindow && wants(i, true).has(b.ResourceId) && ms(b.FromTime) === i.start && ms(b.ToTime) === i.end) continue;
    const windowStart = mi === undefined ? NaN : ms(o.members[mi]!.status.LastFullSync) - HORIZON_PAST_MS;
    if (!i && ms(b.ToTime) <= windowStart) continue; // its event went while it was past: no round reports that
    add('unwanted-booking', `Outlook booking ${b.Id} of ${rname(b.ResourceId)} ${b.FromTime}..${b.ToTime} (record ${b.CoworkerMsOfficeCalendarId}, event …${String(b.Office365EventId).slice(-12)}): ${i ? `the event (${label(i)}) does not want it (inWindow ${i.inWindow}, showAs ${i.showAs}, cancelled ${i.isCancelled}, rooms ${[...i.rooms].map(rname).join('+') || 'none'})` : 'no such event in the horizon'}`);
  }
  for (const c of o.conflicts) {
    if (explained.has(c)) continue;
    const mi = byRecord.get(c.CoworkerMsOfficeCalendarId);
    const i = mi === undefined ? undefined : instById.get(`${mi}|${c.Office365EventId}`);
    if (i?.nearEdge) continue;
    add('unwanted-conflict', `conflict ${c.Id} for ${rname(c.ResourceId)} ${c.FromTime}..${c.ToTime} (record ${c.CoworkerMsOfficeCalendarId}): ${i ? `its event (${label(i)}) does not want it` : 'no such event in the horizon'}`);
  }
  for (const b of apiActive) {
    for (const i of insts.filter((x) => x.id === b.Office365EventId || (x.transactionId !== null && x.transactionId === b.UniqueId))) {
      // Outside the horizon calbridge cannot see what a member does to the event: nothing is asked of it there.
      if (i.nearEdge || !i.inWindow || wants(i).has(b.ResourceId)) continue;
      add('api-unwanted', `API booking ${b.Id} of ${rname(b.ResourceId)} ${b.FromTime}..${b.ToTime} stands for ${label(i)}, which does not want it (inWindow ${i.inWindow}, showAs ${i.showAs}, cancelled ${i.isCancelled}, rooms ${[...i.rooms].map(rname).join('+') || 'none'})`);
    }
  }

  // (d): an event carries the mark exactly while it has an open conflict.
  let marked = 0;
  for (const i of insts) {
    const m = o.members[i.member]!;
    const open = o.conflicts.filter((c) => c.CoworkerMsOfficeCalendarId === m.recordId && c.Office365EventId === i.id);
    const cat = i.categories.includes(CONFLICT_CATEGORY);
    const line = hasMarkLine(i.body);
    if (cat) marked++;
    if (open.length && !cat) add('unmarked-conflict', `${label(i)} has ${open.length} open conflict(s) but not the category "${CONFLICT_CATEGORY}"`);
    if (!open.length && cat) {
      const booked = outlook.some((b) => b.CoworkerMsOfficeCalendarId === m.recordId && b.Office365EventId === i.id) || apiOf(i).length > 0;
      add(booked ? 'marked-but-booked' : 'stale-mark', `${label(i)} carries "${CONFLICT_CATEGORY}" without an open conflict${booked ? ', and it is booked' : ''}`);
    }
    if (cat !== line) add('mark-body', `${label(i)}: category ${cat ? 'present' : 'absent'} but the body line ${line ? 'present' : 'absent'}`);
  }

  // (e): an API booking of a member with a live connection is exactly one event in that member's calendar, at its times.
  for (const b of apiActive) {
    const mi = o.members.findIndex((m) => m.coworkerId === b.CoworkerId);
    const holders = o.members.map((m) => m.items.filter((e) => e.transactionId === b.UniqueId));
    if (mi < 0) {
      if (holders.some((h) => h.length)) add('api-event-count', `API booking ${b.Id} (coworker ${b.CoworkerId}, no connection) has an event in a member's calendar`);
      continue;
    }
    const events = holders[mi]!;
    // No event, though no member touched it in Outlook: calbridge never wrote it (rather than missing its deletion).
    const untouched = o.api.some((a) => a.bookingId === b.Id && !a.touched);
    if (events.length === 0) add(untouched ? 'api-event-never-written' : 'api-event-gone-unseen', `API booking ${b.Id} of ${rname(b.ResourceId)} ${b.FromTime}..${b.ToTime} has no event in ${o.members[mi]!.upn}'s calendar`);
    if (events.length > 1) add('api-event-count', `API booking ${b.Id} of ${rname(b.ResourceId)} ${b.FromTime}..${b.ToTime} has ${events.length} events in ${o.members[mi]!.upn}'s calendar`);
    for (const e of events) {
      const from = instantOf(e.start.dateTime, e.start.timeZone);
      const to = instantOf(e.end.dateTime, e.end.timeZone);
      if (from === ms(b.FromTime) && to === ms(b.ToTime)) continue;
      // The member moved it out of the horizon: as good as deleted for calbridge, which should have cancelled the booking.
      const i = instById.get(`${mi}|${e.id}`);
      const gone = !i || (!i.inWindow && !i.nearEdge);
      add(gone ? 'api-event-gone-unseen' : 'api-event-times', `API booking ${b.Id} is at ${b.FromTime}..${b.ToTime}, its event at ${span(from, to)}${gone ? ' (outside the horizon)' : ''}`);
    }
    if (holders.some((h, k) => k !== mi && h.length)) add('api-event-count', `API booking ${b.Id} has an event in another member's calendar`);
  }
  for (const b of o.cancelled.filter((x) => x.Source === 'api' && x.CancellationReason === 'Customer')) {
    const left = o.members.flatMap((m) => m.items.filter((e) => e.transactionId === b.UniqueId));
    if (left.length) add('api-cancel-leftover', `API booking ${b.Id} (${b.FromTime}..${b.ToTime}) was cancelled through the API, but ${left.length} event(s) with its transactionId remain`);
  }

  // (g): an API booking only the API touched stays as the API left it.
  for (const a of o.api) {
    if (a.touched) continue;
    const now = active.find((b) => b.Id === a.bookingId);
    const gone = o.cancelled.find((b) => b.Id === a.bookingId);
    if (a.cancelledByApi) {
      if (now) add('api-booking-state', `API booking ${a.bookingId} was cancelled through the API but is active`);
      continue;
    }
    if (!now) {
      // Moved (through the API) out of the horizon of the member's calendar: its event left the delta window.
      add(a.movedOutOfHorizon ? 'api-booking-lost-outside-horizon' : 'api-booking-lost', `API booking ${a.bookingId} (${rname(a.resourceId)} ${span(a.from, a.to)}) was never touched in Outlook, yet it is cancelled (${gone?.CancellationReason ?? 'not found'}, ${gone?.CancelledOn ?? ''})`);
    }
    else if (ms(now.FromTime) !== a.from || ms(now.ToTime) !== a.to) add('api-booking-moved', `API booking ${a.bookingId} should be at ${span(a.from, a.to)} but is at ${now.FromTime}..${now.ToTime}`);
  }

  // An Outlook booking of a room cancelled through the API: the room leaves the member's event, so it stays cancelled.
  for (const x of o.outlookCancels) {
    if (x.touched || !o.rooms.some((r) => r.resourceId === x.resourceId)) continue;
    const i = instById.get(`${x.member}|${x.eventId}`);
    if (i?.rooms.has(x.resourceId)) {
      const again = outlook.find((b) => b.Office365EventId === i.id && b.ResourceId === x.resourceId);
      add('api-cancel-undone', `Outlook booking ${x.bookingId} (${rname(x.resourceId)}) was cancelled through the API, but ${label(i)} still names ${rname(x.resourceId)}${again ? ` and booking ${again.Id} booked it again` : ''}`);
    }
  }

  // The connections themselves: live, one subscription each (no leaks), a full round after the reconciliation.
  for (const m of o.members) {
    if (m.status.State !== 'active') add('connection', `${m.upn}: state ${m.status.State} (${m.status.LastError})`);
    if (m.liveSubscriptions.length !== 1 || m.liveSubscriptions[0] !== m.status.SubscriptionId) add('subscription', `${m.upn}: live subscriptions ${JSON.stringify(m.liveSubscriptions)}, the record says ${m.status.SubscriptionId}`);
    if (!m.status.LastFullSync || ms(m.status.LastFullSync) < o.reconciledAfter) add('no-reconciliation', `${m.upn}: last full round ${m.status.LastFullSync}`);
  }
  for (const d of o.deadJobs) add(d.type === 'bookings.push' && /all-day/.test(d.error ?? '') ? 'dead-job-all-day-move' : 'dead-job', `${d.type}: ${d.error}`);
  return { discrepancies: out, wantedPairs, heldByCopies, marked };
}

// ---- running --------------------------------------------------------------------------------------------------------

/** One simulation: a fresh environment (emulator, database, app, queue, engine), the steps, the end, the checks. */
export async function runSimulation(actions: Array<Action | null>, opts: SimOptions = {}): Promise<SimResult> {
  const started = Date.now();
  const env = await startGraphEnv(opts.captureLogs ? { captureLogs: true } : {});
  try {
    const sim = new Simulation(env, opts);
    await sim.setup();
    for (const [i, a] of actions.entries()) if (a) await sim.step(i, a);
    const problems = await sim.finish();
    const observed = await sim.observe();
    const model = checkModel(observed);
    const all = [...problems.filter((p) => !model.discrepancies.some((d) => d.kind === p.kind)), ...model.discrepancies];
    const tolerated = (kind: string) => Boolean(opts.tolerate?.has(kind) || (opts.focus?.size && !opts.focus.has(kind)));
    await opts.inspect?.(env);
    const stats = sim.stats;
    Object.assign(stats, {
      activeOutlook: observed.bookings.filter((b) => b.Source === 'outlook').length,
      activeApi: observed.bookings.filter((b) => b.Source === 'api').length,
      cancelled: observed.cancelled.length, conflicts: observed.conflicts.length, wantedPairs: model.wantedPairs, heldByCopies: model.heldByCopies, marked: model.marked,
      ms: Date.now() - started,
    });
    return { discrepancies: all.filter((d) => !tolerated(d.kind)), tolerated: all.filter((d) => tolerated(d.kind)), stats, log: sim.log,
      appLog: env.logs.filter((l) => { try { return JSON.parse(l).level >= 40; } catch { return false; } }) };
  } finally {
    await env.close();
  }
}

export function formatStats(s: SimStats): string {
  return `${s.steps} steps (${s.noops} no-ops, ${s.apiRejected} API refusals), ${s.simulatedHours} h simulated, ${s.rounds} delta rounds (${s.fullRounds} full), `
    + `${s.subscriptionsMade} subscriptions made; end: ${s.activeOutlook} Outlook + ${s.activeApi} API bookings, ${s.cancelled} cancelled, `
    + `${s.conflicts} conflicts (${s.marked} marked events), ${s.wantedPairs} wanted pairs (${s.heldByCopies} held by a copy of the meeting); ${(s.ms / 1000).toFixed(1)} s`;
}

export function formatResult(r: SimResult, maxLines = 40): string {
  const lines = [`${r.discrepancies.length} discrepanc${r.discrepancies.length === 1 ? 'y' : 'ies'}: ${formatStats(r.stats)}`];
  for (const d of r.discrepancies.slice(0, maxLines)) lines.push(`  [${d.kind}] ${d.detail}`);
  if (r.discrepancies.length > maxLines) lines.push(`  … ${r.discrepancies.length - maxLines} more`);
  if (r.tolerated.length) lines.push(`  (+${r.tolerated.length} tolerated: ${[...new Set(r.tolerated.map((d) => d.kind))].join(', ')})`);
  lines.push('steps:', ...r.log.map((l) => `  ${l}`));
  if (r.appLog.length) lines.push('app warnings and errors:', ...r.appLog.map((l) => `  ${l}`));
  return lines.join('\n');
}

export class SimulationFailure extends Error {
  constructor(readonly result: SimResult) {
    super(formatResult(result));
    this.name = 'SimulationFailure';
  }
}

/** The property: a run of `steps` steps ends with no discrepancy. `onRun` sees every run (the CLI prints them). */
export function simulationProperty(steps: number, opts: SimOptions & { onRun?: (r: SimResult, actions: Array<Action | null>) => void } = {}) {
  return fc.asyncProperty(actionsArb(steps), async (actions) => {
    const r = await runSimulation(actions, opts);
    opts.onRun?.(r, actions);
    if (r.discrepancies.length) throw new SimulationFailure(r);
  });
}

/** A counterexample without its null steps, one action per line (for reports). */
export function formatCounterexample(actions: Array<Action | null>): string {
  return actions.map((a, i) => (a ? `  #${i} ${describeAction(a)}` : null)).filter(Boolean).join('\n');
}
