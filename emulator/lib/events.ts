import type { Attendee, FreeBusyStatus, Importance, Location, PatternedRecurrence, Recipient, Sensitivity } from '@microsoft/microsoft-graph-types';
import type { CalendarRecord, Directory, UserRecord } from './directory.js';
import { GraphError } from './errors.js';
import type { GraphEvent } from './graph-types.js';
import { iCalUid, newChangeKey, occurrenceICalUid, occurrenceId, outlookId, parseOccurrenceId } from './ids.js';
import { expandSeries, normalizeRecurrence, type NormalizedRecurrence } from './recurrence.js';
import { dayNumber, formatDate, formatInZone, formatLocal, isoUtc, parseGraphDateTime, resolveZone, toLocal } from './time.js';

export interface StoredTime {
  epochMs: number;
  /** The zone name as the client wrote it (Windows or IANA). */
  zoneName: string;
  /** IANA zone used for computation. */
  zone: string;
}

export interface EventFields {
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  start: StoredTime;
  end: StoredTime;
  isAllDay: boolean;
  showAs: FreeBusyStatus;
  location: Location;
  locations: Location[];
  attendees: Attendee[];
  organizer: Recipient;
  categories: string[];
  sensitivity: Sensitivity;
  importance: Importance;
  isReminderOn: boolean;
  reminderMinutesBeforeStart: number;
  responseRequested: boolean;
  allowNewTimeProposals: boolean;
  isOnlineMeeting: boolean;
  hideAttendees: boolean;
  transactionId: string | null;
  isCancelled: boolean;
  /** singleValueExtendedProperties, in the order first set; ids as the client first wrote them. */
  extendedProperties: ExtendedProperty[];
}

export interface ExtendedProperty {
  id: string;
  value: string;
}

export interface OccurrenceException {
  cancelled: boolean;
  fields: Partial<EventFields>;
  changeKey: string;
  lastModified: number;
}

export interface StoredEvent {
  id: string;
  userId: string;
  calendarId: string;
  createdAt: number;
  lastModified: number;
  changeKey: string;
  iCalUId: string;
  isOrganizer: boolean;
  fields: EventFields;
  recurrence: NormalizedRecurrence | null;
  /** Keyed by the occurrence's original start (epoch ms). */
  exceptions: Map<number, OccurrenceException>;
}

/** A transactionId used in a mailbox: the event it created and the request body that created it. */
interface TransactionRecord {
  eventId: string;
  calendarId: string;
  fingerprint: string;
}

/** One item as calendarView shows it: a single instance, an occurrence or an exception of a series. */
export interface Instance {
  id: string;
  type: 'singleInstance' | 'occurrence' | 'exception';
  master: StoredEvent;
  originalStartMs: number | null;
  fields: EventFields;
  changeKey: string;
  lastModified: number;
}

export type EventChangeType = 'created' | 'updated' | 'deleted';

export interface EventChange {
  tenantId: string;
  userId: string;
  calendarId: string;
  eventId: string;
  changeType: EventChangeType;
  changeKey: string;
}

const SHOW_AS: FreeBusyStatus[] = ['unknown', 'free', 'tentative', 'busy', 'oof', 'workingElsewhere'];
const SENSITIVITY: Sensitivity[] = ['normal', 'personal', 'private', 'confidential'];
const IMPORTANCE: Importance[] = ['low', 'normal', 'high'];

const invalidRequest = (message: string): GraphError => new GraphError(400, 'ErrorInvalidRequest', message);

function parseTime(value: unknown, field: string): StoredTime {
  if (!value || typeof value !== 'object') throw invalidRequest(`Your request can't be completed. '${field}' must be a dateTimeTimeZone.`);
  const v = value as { dateTime?: unknown; timeZone?: unknown };
  if (typeof v.dateTime !== 'string') throw invalidRequest(`Your request can't be completed. '${field}.dateTime' is required.`);
  const zoneName = typeof v.timeZone === 'string' && v.timeZone.trim() ? v.timeZone : 'UTC';
  const parsed = parseGraphDateTime(v.dateTime, zoneName);
  return { epochMs: parsed.epochMs, zoneName, zone: parsed.zone };
}

function emptyLocation(): Location {
  return { displayName: '', locationType: 'default', uniqueIdType: 'unknown', address: {}, coordinates: {} };
}

function normalizeLocation(l: Location): Location {
  return {
    displayName: l.displayName ?? '',
    locationType: l.locationType ?? 'default',
    uniqueId: l.uniqueId ?? (l.displayName || undefined),
    uniqueIdType: l.uniqueIdType ?? (l.displayName ? 'private' : 'unknown'),
    ...(l.locationEmailAddress ? { locationEmailAddress: l.locationEmailAddress } : {}),
    ...(l.locationUri ? { locationUri: l.locationUri } : {}),
    address: l.address ?? {},
    coordinates: l.coordinates ?? {},
  };
}

function normalizeAttendee(a: Attendee): Attendee {
  return {
    type: a.type ?? 'required',
    status: a.status ?? { response: 'none', time: '0001-01-01T00:00:00Z' },
    emailAddress: { name: a.emailAddress?.name ?? a.emailAddress?.address ?? '', address: a.emailAddress?.address ?? '' },
  };
}

const PROPERTY_TYPES = ['binary', 'boolean', 'clsid', 'currency', 'double', 'float', 'integer', 'long', 'short', 'systemtime', 'string'];
const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const NAMED_ID = new RegExp(`^(\\w+)\\s+\\{(${GUID})\\}\\s+name\\s+(\\S.*)$`, 'i');
const NUMBERED_ID = new RegExp(`^(\\w+)\\s+\\{(${GUID})\\}\\s+id\\s+(0x[0-9a-f]+|\\d+)$`, 'i');
const TAG_ID = /^(\w+)\s+(0x[0-9a-f]{1,4})$/i;

/**
 * Identity of an extended property id ("String {GUID} Name X", "Integer {GUID} Id 0x8005", "String 0x0037"): the
 * type, the GUID and the keywords match in any case, the name is case-sensitive (Graph documents filtering on it so).
 */
export function extendedPropertyKey(id: string): string {
  const text = id.trim();
  const invalid = (): GraphError => new GraphError(400, 'ErrorInvalidProperty', `The extended property id '${id}' is not valid.`);
  const named = NAMED_ID.exec(text);
  const numbered = named ? null : NUMBERED_ID.exec(text);
  const tag = named || numbered ? null : TAG_ID.exec(text);
  const type = (named ?? numbered ?? tag)?.[1]?.toLowerCase();
  if (!type || !PROPERTY_TYPES.includes(type)) throw invalid();
  if (named) return `${type} {${named[2]!.toLowerCase()}} name ${named[3]}`;
  if (numbered) return `${type} {${numbered[2]!.toLowerCase()}} id ${Number(numbered[3])}`;
  return `${type} ${Number(tag![2])}`;
}

function mergeExtendedProperties(base: ExtendedProperty[], input: unknown): ExtendedProperty[] {
  if (!Array.isArray(input)) throw invalidRequest("'singleValueExtendedProperties' must be an array.");
  const out = base.map((p) => ({ ...p }));
  for (const raw of input as { id?: unknown; value?: unknown }[]) {
    if (!raw || typeof raw.id !== 'string') throw invalidRequest('An extended property needs an id.');
    const key = extendedPropertyKey(raw.id);
    const type = key.split(' ')[0]!;
    const value = raw.value;
    if (typeof value !== 'string') throw new GraphError(400, 'ErrorInvalidProperty', `The value of the extended property '${raw.id}' must be a string.`);
    if ((['integer', 'long', 'short'].includes(type) && !/^-?\d+$/.test(value)) || (type === 'boolean' && !/^(true|false)$/i.test(value))) {
      throw new GraphError(400, 'ErrorInvalidProperty', `The value '${value}' is not valid for the extended property '${raw.id}'.`);
    }
    const existing = out.find((p) => extendedPropertyKey(p.id) === key);
    if (existing) existing.value = value;
    else out.push({ id: raw.id.trim(), value });
  }
  return out;
}

/** Canonical JSON (keys sorted at every level): two requests with the same content compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function pick<T>(allowed: readonly T[], value: unknown, field: string): T {
  if (!allowed.includes(value as T)) throw invalidRequest(`The value '${String(value)}' is not valid for '${field}'.`);
  return value as T;
}

/** Validates the writable fields of an event body (create or PATCH) and returns them merged onto `base`. */
export function mergeFields(input: GraphEvent, base: EventFields | null, owner: UserRecord, opts: { allowReadOnly?: boolean } = {}): EventFields {
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(input, k);
  if (!base && (!has('start') || !has('end'))) throw invalidRequest("Your request can't be completed. An event needs both 'start' and 'end'.");
  const f: EventFields = base
    ? { ...base }
    : {
        subject: '',
        body: { contentType: 'text', content: '' },
        start: parseTime(input.start, 'start'),
        end: parseTime(input.end, 'end'),
        isAllDay: false,
        showAs: 'busy',
        location: emptyLocation(),
        locations: [],
        attendees: [],
        organizer: { emailAddress: { name: owner.displayName, address: owner.mail } },
        categories: [],
        sensitivity: 'normal',
        importance: 'normal',
        isReminderOn: true,
        reminderMinutesBeforeStart: 15,
        responseRequested: true,
        allowNewTimeProposals: true,
        isOnlineMeeting: false,
        hideAttendees: false,
        transactionId: null,
        isCancelled: false,
        extendedProperties: [],
      };
  if (has('subject')) f.subject = input.subject == null ? '' : String(input.subject);
  if (has('body') && input.body) {
    const ct = String(input.body.contentType ?? 'text').toLowerCase();
    f.body = { contentType: ct === 'html' ? 'html' : 'text', content: String(input.body.content ?? '') };
  }
  if (has('start')) f.start = parseTime(input.start, 'start');
  if (has('end')) f.end = parseTime(input.end, 'end');
  if (has('isAllDay')) f.isAllDay = Boolean(input.isAllDay);
  if (has('showAs')) f.showAs = pick(SHOW_AS, input.showAs, 'showAs');
  if (has('sensitivity')) f.sensitivity = pick(SENSITIVITY, input.sensitivity, 'sensitivity');
  if (has('importance')) f.importance = pick(IMPORTANCE, input.importance, 'importance');
  if (has('categories')) f.categories = (input.categories ?? []).map(String);
  if (has('isReminderOn')) f.isReminderOn = Boolean(input.isReminderOn);
  if (has('reminderMinutesBeforeStart')) f.reminderMinutesBeforeStart = Number(input.reminderMinutesBeforeStart ?? 15);
  if (has('responseRequested')) f.responseRequested = Boolean(input.responseRequested);
  if (has('allowNewTimeProposals')) f.allowNewTimeProposals = Boolean(input.allowNewTimeProposals);
  if (has('isOnlineMeeting')) f.isOnlineMeeting = Boolean(input.isOnlineMeeting);
  if (has('hideAttendees')) f.hideAttendees = Boolean(input.hideAttendees);
  // Set at creation only: Graph documents that an update cannot change it.
  if (has('transactionId') && !base) f.transactionId = input.transactionId == null ? null : String(input.transactionId);
  if (has('singleValueExtendedProperties')) f.extendedProperties = mergeExtendedProperties(f.extendedProperties, input.singleValueExtendedProperties);
  if (has('attendees')) {
    if (!Array.isArray(input.attendees)) throw invalidRequest("'attendees' must be an array.");
    f.attendees = input.attendees.map(normalizeAttendee);
  }
  if (has('locations')) {
    if (!Array.isArray(input.locations)) throw invalidRequest("'locations' must be an array.");
    f.locations = input.locations.map(normalizeLocation);
    if (!has('location')) {
      f.location = f.locations.length
        ? { ...normalizeLocation({ displayName: f.locations.map((l) => l.displayName).join('; ') }), locationType: f.locations.length === 1 ? f.locations[0]!.locationType : 'default' }
        : emptyLocation();
    }
  }
  if (has('location')) {
    f.location = input.location ? normalizeLocation(input.location) : emptyLocation();
    if (!has('locations')) f.locations = f.location.displayName ? [f.location] : [];
  }
  if (opts.allowReadOnly) {
    if (has('isCancelled')) f.isCancelled = Boolean(input.isCancelled);
    if (has('organizer') && input.organizer) f.organizer = input.organizer;
  }
  if (f.end.epochMs < f.start.epochMs) throw invalidRequest("Your request can't be completed. The end time of the event is before its start time.");
  if (f.isAllDay) {
    const s = toLocal(f.start.epochMs, f.start.zone);
    const e = toLocal(f.end.epochMs, f.end.zone);
    const midnight = (l: typeof s): boolean => l.hour === 0 && l.minute === 0 && l.second === 0 && l.ms === 0;
    if (!midnight(s) || !midnight(e) || f.end.epochMs === f.start.epochMs) {
      throw invalidRequest("Your request can't be completed. If the event is an all-day event, the start and end must be at midnight and at least one day apart.");
    }
  }
  return f;
}

export interface RenderOptions {
  /** Zone name from Prefer: outlook.timezone, or null for UTC. */
  tz: string | null;
  /** singleValueExtendedProperties to include: those whose key (extendedPropertyKey) is in the set, or all. */
  extendedProperties?: Set<string> | 'all';
}

function renderTime(t: StoredTime, epochMs: number, isAllDay: boolean, opts: RenderOptions): { dateTime: string; timeZone: string } {
  if (isAllDay) return { dateTime: formatInZone(epochMs, t.zone), timeZone: t.zoneName };
  const name = opts.tz ?? 'UTC';
  return { dateTime: formatInZone(epochMs, resolveZone(name)), timeZone: name };
}

function bodyPreview(body: EventFields['body']): string {
  const text = body.contentType === 'html' ? body.content.replace(/<[^>]*>/g, ' ') : body.content;
  return text.replace(/\s+/g, ' ').trim().slice(0, 255);
}

function recurrenceOut(r: NormalizedRecurrence): PatternedRecurrence {
  return { pattern: { ...r.pattern, daysOfWeek: [...r.pattern.daysOfWeek] }, range: { ...r.range } };
}

export const etagOf = (changeKey: string): string => `W/"${changeKey}"`;

/** Event store for all mailboxes; every mutation emits an EventChange. */
export class EventStore {
  readonly events = new Map<string, StoredEvent>();
  /** By `${userId}|${transactionId}`; kept when the event is deleted (a transactionId is used once per mailbox). */
  private readonly transactions = new Map<string, TransactionRecord>();
  private readonly listeners = new Set<(c: EventChange) => void>();

  constructor(
    private readonly directory: Directory,
    private readonly now: () => number,
  ) {}

  onChange(fn: (c: EventChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(ev: StoredEvent, changeType: EventChangeType): void {
    const user = this.directory.users.get(ev.userId);
    if (!user) return;
    const change: EventChange = { tenantId: user.tenantId, userId: ev.userId, calendarId: ev.calendarId, eventId: ev.id, changeType, changeKey: ev.changeKey };
    for (const fn of this.listeners) fn(change);
  }

  private owner(userId: string): UserRecord {
    const u = this.directory.users.get(userId);
    if (!u) throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${userId}' is invalid.`);
    return u;
  }

  /**
   * Creates an event. With a transactionId already used in the mailbox, an identical request (a client's retry) gets
   * the event the first one created, unchanged and without a notification; anything else is 400.
   */
  create(calendar: CalendarRecord, input: GraphEvent, opts: { allowReadOnly?: boolean } = {}): StoredEvent {
    const owner = this.owner(calendar.userId);
    const fields = mergeFields(input, null, owner, opts);
    const txKey = fields.transactionId === null ? null : `${calendar.userId}|${fields.transactionId}`;
    const fingerprint = canonical(input);
    const used = txKey === null ? undefined : this.transactions.get(txKey);
    if (used) {
      const earlier = this.events.get(used.eventId);
      if (earlier && used.calendarId === calendar.id && used.fingerprint === fingerprint) return earlier;
      throw new GraphError(400, 'ErrorDuplicateTransactionId', "Your request can't be completed. The TransactionId specified in the request has already been used to create a different event.");
    }
    const now = this.now();
    const ev: StoredEvent = {
      id: outlookId(),
      userId: calendar.userId,
      calendarId: calendar.id,
      createdAt: now,
      lastModified: now,
      changeKey: newChangeKey(),
      // The control API may give one (allowReadOnly): an attendee's copy of a meeting another mailbox organised, as
      // Exchange delivers it, carries the organiser's iCalUId.
      iCalUId: (opts.allowReadOnly && typeof (input as { iCalUId?: unknown }).iCalUId === 'string' && (input as { iCalUId: string }).iCalUId) || iCalUid(),
      isOrganizer: (fields.organizer.emailAddress?.address ?? '').toLowerCase() === owner.mail,
      fields,
      recurrence: null,
      exceptions: new Map(),
    };
    if (input.recurrence) ev.recurrence = this.recurrenceFor(input.recurrence, fields);
    this.events.set(ev.id, ev);
    if (txKey !== null) this.transactions.set(txKey, { eventId: ev.id, calendarId: calendar.id, fingerprint });
    this.emit(ev, 'created');
    return ev;
  }

  private recurrenceFor(r: PatternedRecurrence, fields: EventFields): NormalizedRecurrence {
    return normalizeRecurrence(r, toLocal(fields.start.epochMs, fields.start.zone), fields.start.zoneName);
  }

  /** Finds an item (single, master or occurrence/exception) of a mailbox by id. */
  find(userId: string, id: string): Instance | StoredEvent {
    const direct = this.events.get(id);
    if (direct && direct.userId === userId) return direct;
    const occ = parseOccurrenceId(id);
    if (occ) {
      const master = this.events.get(occ.masterId);
      if (master && master.userId === userId && master.recurrence) {
        const inst = this.occurrence(master, occ.originalStartMs);
        if (inst) return inst;
      }
    }
    throw new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
  }

  private occurrence(master: StoredEvent, originalStartMs: number): Instance | null {
    const exc = master.exceptions.get(originalStartMs);
    if (exc?.cancelled) return null;
    if (!exc) {
      const starts = expandSeries(master.recurrence!, toLocal(master.fields.start.epochMs, master.fields.start.zone), master.fields.start.zone, originalStartMs + 1);
      if (!starts.includes(originalStartMs)) return null;
    }
    return this.makeInstance(master, originalStartMs, exc ?? null);
  }

  private makeInstance(master: StoredEvent, originalStartMs: number, exc: OccurrenceException | null): Instance {
    const duration = master.fields.end.epochMs - master.fields.start.epochMs;
    const base: EventFields = {
      ...master.fields,
      start: { ...master.fields.start, epochMs: originalStartMs },
      end: { ...master.fields.end, epochMs: originalStartMs + duration },
    };
    return {
      id: occurrenceId(master.id, originalStartMs),
      type: exc ? 'exception' : 'occurrence',
      master,
      originalStartMs,
      fields: exc ? { ...base, ...exc.fields } : base,
      changeKey: exc ? exc.changeKey : master.changeKey,
      lastModified: exc ? exc.lastModified : master.lastModified,
    };
  }

  /** Singles and series masters of a calendar (what GET …/events lists). */
  listItems(calendarId: string): StoredEvent[] {
    return [...this.events.values()].filter((e) => e.calendarId === calendarId).sort((a, b) => a.fields.start.epochMs - b.fields.start.epochMs || a.createdAt - b.createdAt);
  }

  /** Expanded view of a calendar over [startMs, endMs): singles, occurrences and exceptions that overlap it. */
  instancesInWindow(calendarId: string, startMs: number, endMs: number): Instance[] {
    const out: Instance[] = [];
    for (const ev of this.events.values()) {
      if (ev.calendarId !== calendarId) continue;
      out.push(...this.instancesOf(ev, startMs, endMs));
    }
    return out.sort((a, b) => a.fields.start.epochMs - b.fields.start.epochMs || (a.id < b.id ? -1 : 1));
  }

  instancesOf(ev: StoredEvent, startMs: number, endMs: number): Instance[] {
    const overlaps = (f: EventFields): boolean =>
      f.start.epochMs < endMs && (f.end.epochMs > startMs || (f.end.epochMs === f.start.epochMs && f.start.epochMs >= startMs));
    if (!ev.recurrence) {
      return overlaps(ev.fields)
        ? [{ id: ev.id, type: 'singleInstance', master: ev, originalStartMs: null, fields: ev.fields, changeKey: ev.changeKey, lastModified: ev.lastModified }]
        : [];
    }
    const out: Instance[] = [];
    const starts = expandSeries(ev.recurrence, toLocal(ev.fields.start.epochMs, ev.fields.start.zone), ev.fields.start.zone, endMs);
    for (const s of starts) {
      if (ev.exceptions.has(s)) continue;
      const inst = this.makeInstance(ev, s, null);
      if (overlaps(inst.fields)) out.push(inst);
    }
    for (const [s, exc] of ev.exceptions) {
      if (exc.cancelled) continue;
      const inst = this.makeInstance(ev, s, exc);
      if (overlaps(inst.fields)) out.push(inst);
    }
    return out;
  }

  /** PATCH an item. An occurrence becomes an exception; a change to a series notifies as an update of its master. */
  update(userId: string, id: string, input: GraphEvent, opts: { allowReadOnly?: boolean } = {}): Instance | StoredEvent {
    const found = this.find(userId, id);
    const owner = this.owner(userId);
    const now = this.now();
    if ('master' in found) {
      if (found.type === 'singleInstance') return this.update(userId, found.master.id, input, opts);
      const master = found.master;
      const merged = mergeFields(input, found.fields, owner, opts);
      const diff: Partial<EventFields> = {};
      for (const k of Object.keys(merged) as (keyof EventFields)[]) {
        const base = k === 'start' || k === 'end' ? null : master.fields[k];
        if (base === null || JSON.stringify(merged[k]) !== JSON.stringify(base)) (diff as Record<string, unknown>)[k] = merged[k];
      }
      // start/end always kept on the exception (they may differ from the master's)
      const exc: OccurrenceException = { cancelled: false, fields: diff, changeKey: newChangeKey(), lastModified: now };
      master.exceptions.set(found.originalStartMs!, exc);
      master.changeKey = newChangeKey();
      master.lastModified = now;
      this.emit(master, 'updated');
      return this.makeInstance(master, found.originalStartMs!, exc);
    }
    const ev = found;
    const before = ev.fields;
    ev.fields = mergeFields(input, ev.fields, owner, opts);
    const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(input, k);
    if (has('recurrence')) {
      ev.recurrence = input.recurrence ? this.recurrenceFor(input.recurrence, ev.fields) : null;
      ev.exceptions.clear();
    } else if (ev.recurrence && (before.start.epochMs !== ev.fields.start.epochMs || before.end.epochMs !== ev.fields.end.epochMs)) {
      const l = toLocal(ev.fields.start.epochMs, ev.fields.start.zone);
      const oldStartDay = dayNumber(...ymd(toLocal(before.start.epochMs, before.start.zone)));
      if (oldStartDay !== dayNumber(l.year, l.month, l.day)) ev.recurrence.range.startDate = formatDate(dayNumber(l.year, l.month, l.day));
      ev.exceptions.clear();
    }
    ev.changeKey = newChangeKey();
    ev.lastModified = now;
    this.emit(ev, 'updated');
    return ev;
  }

  /** DELETE an item. Deleting an occurrence cancels it and updates its master (Graph notifies the master). */
  delete(userId: string, id: string): void {
    const found = this.find(userId, id);
    const now = this.now();
    if ('master' in found && found.type !== 'singleInstance') {
      const master = found.master;
      master.exceptions.set(found.originalStartMs!, { cancelled: true, fields: {}, changeKey: newChangeKey(), lastModified: now });
      master.changeKey = newChangeKey();
      master.lastModified = now;
      this.emit(master, 'updated');
      return;
    }
    const ev = 'master' in found ? found.master : found;
    this.events.delete(ev.id);
    ev.changeKey = newChangeKey();
    this.emit(ev, 'deleted');
  }

  deleteCalendarItems(calendarId: string): void {
    for (const ev of [...this.events.values()]) if (ev.calendarId === calendarId) this.delete(ev.userId, ev.id);
  }

  clear(): void {
    this.events.clear();
    this.transactions.clear();
  }
}

const ymd = (l: { year: number; month: number; day: number }): [number, number, number] => [l.year, l.month, l.day];

/** Graph JSON of an item: a single instance or series master (StoredEvent) or an expanded instance. */
export function renderEvent(item: StoredEvent | Instance, opts: RenderOptions): GraphEvent {
  const isInstance = 'master' in item;
  const master = isInstance ? item.master : item;
  const f = isInstance ? item.fields : item.fields;
  const id = isInstance ? item.id : item.id;
  const changeKey = isInstance ? item.changeKey : item.changeKey;
  const lastModified = isInstance ? item.lastModified : item.lastModified;
  const type: GraphEvent['type'] = isInstance ? item.type : master.recurrence ? 'seriesMaster' : 'singleInstance';
  const originalStartMs = isInstance ? item.originalStartMs : null;
  return {
    '@odata.etag': etagOf(changeKey),
    id,
    createdDateTime: new Date(master.createdAt).toISOString(),
    lastModifiedDateTime: new Date(lastModified).toISOString(),
    changeKey,
    categories: [...f.categories],
    transactionId: f.transactionId,
    originalStartTimeZone: f.start.zoneName,
    originalEndTimeZone: f.end.zoneName,
    iCalUId: originalStartMs === null ? master.iCalUId : occurrenceICalUid(master.iCalUId, originalStartMs),
    reminderMinutesBeforeStart: f.reminderMinutesBeforeStart,
    isReminderOn: f.isReminderOn,
    hasAttachments: false,
    subject: f.subject,
    bodyPreview: bodyPreview(f.body),
    importance: f.importance,
    sensitivity: f.sensitivity,
    isAllDay: f.isAllDay,
    isCancelled: f.isCancelled,
    isOrganizer: master.isOrganizer,
    responseRequested: f.responseRequested,
    seriesMasterId: type === 'occurrence' || type === 'exception' ? master.id : null,
    showAs: f.showAs,
    type,
    webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(id)}&exvsurl=1&path=/calendar/item`,
    onlineMeetingUrl: null,
    isOnlineMeeting: f.isOnlineMeeting,
    onlineMeetingProvider: 'unknown',
    allowNewTimeProposals: f.allowNewTimeProposals,
    isDraft: false,
    hideAttendees: f.hideAttendees,
    ...(originalStartMs !== null ? { originalStart: isoUtc(originalStartMs) } : {}),
    responseStatus: master.isOrganizer ? { response: 'organizer', time: '0001-01-01T00:00:00Z' } : { response: 'notResponded', time: '0001-01-01T00:00:00Z' },
    body: { ...f.body },
    start: renderTime(f.start, f.start.epochMs, f.isAllDay, opts),
    end: renderTime(f.end, f.end.epochMs, f.isAllDay, opts),
    location: { ...f.location },
    locations: f.locations.map((l) => ({ ...l })),
    recurrence: type === 'seriesMaster' && master.recurrence ? recurrenceOut(master.recurrence) : null,
    attendees: f.attendees.map((a) => ({ ...a })),
    organizer: f.organizer,
    onlineMeeting: null,
    ...extendedPropertiesOut(f.extendedProperties, opts.extendedProperties),
  };
}

/** Graph returns singleValueExtendedProperties only when expanded, and leaves the collection out when none matches. */
function extendedPropertiesOut(props: ExtendedProperty[], wanted: RenderOptions['extendedProperties']): Pick<GraphEvent, 'singleValueExtendedProperties'> {
  if (!wanted) return {};
  const out = props.filter((p) => wanted === 'all' || wanted.has(extendedPropertyKey(p.id))).map((p) => ({ ...p }));
  return out.length ? { singleValueExtendedProperties: out } : {};
}

/** A version string of what a delta client has seen of an instance. */
export function instanceVersion(i: Instance): string {
  return `${i.changeKey}|${i.fields.start.epochMs}|${i.fields.end.epochMs}|${i.fields.isCancelled}`;
}

export { formatLocal };
