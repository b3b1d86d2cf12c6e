import { findIana } from 'windows-iana';
import { GraphError } from './errors.js';

/** Wall-clock fields (no zone). */
export interface LocalDateTime {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

const UTC_NAMES = new Set(['utc', 'etc/utc', 'gmt', 'z', 'tzone://microsoft/utc', 'coordinated universal time']);

const zoneCache = new Map<string, string>();

/** Resolves a Graph time zone name (Windows like "W. Europe Standard Time", IANA, or UTC) to an IANA zone. */
export function resolveZone(name: string | null | undefined): string {
  const raw = (name ?? 'UTC').trim() || 'UTC';
  const hit = zoneCache.get(raw);
  if (hit) return hit;
  let iana: string | undefined;
  if (UTC_NAMES.has(raw.toLowerCase())) iana = 'UTC';
  else {
    const fromWindows = findIana(raw);
    if (fromWindows && fromWindows.length > 0) iana = fromWindows[0];
    else {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: raw });
        iana = raw;
      } catch {
        iana = undefined;
      }
    }
  }
  if (!iana) {
    throw new GraphError(400, 'TimeZoneNotSupportedException', `A valid TimeZone value must be specified. The following TimeZone value is not supported: '${raw}'.`);
  }
  zoneCache.set(raw, iana);
  return iana;
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = fmtCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    fmtCache.set(zone, f);
  }
  return f;
}

/** Wall-clock fields of an instant in a zone. */
export function toLocal(epochMs: number, zone: string): LocalDateTime {
  if (zone === 'UTC') {
    const d = new Date(epochMs);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      ms: d.getUTCMilliseconds(),
    };
  }
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(epochMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: (parts.hour ?? 0) % 24,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
    ms: ((epochMs % 1000) + 1000) % 1000,
  };
}

const localAsUtc = (l: LocalDateTime): number => Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second, l.ms);

function offsetAt(epochMs: number, zone: string): number {
  if (zone === 'UTC') return 0;
  const l = toLocal(epochMs, zone);
  return localAsUtc({ ...l, ms: ((epochMs % 1000) + 1000) % 1000 }) - epochMs;
}

/** Instant of a wall-clock time in a zone (gaps resolve forward, overlaps to the earlier instant). */
export function fromLocal(l: LocalDateTime, zone: string): number {
  const guess = localAsUtc(l);
  if (zone === 'UTC') return guess;
  const o1 = offsetAt(guess, zone);
  let t = guess - o1;
  const o2 = offsetAt(t, zone);
  if (o2 !== o1) {
    const t2 = guess - o2;
    t = offsetAt(t2, zone) === o2 ? t2 : Math.max(t, t2);
  }
  return t;
}

const DT_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parses Graph's dateTimeTimeZone.dateTime ("2024-01-01T10:00:00.0000000"); an explicit offset or Z wins over the zone. */
export function parseGraphDateTime(dateTime: string, zoneName: string | null | undefined): { epochMs: number; local: LocalDateTime; zone: string } {
  const m = DT_RE.exec(dateTime.trim());
  if (!m) throw new GraphError(400, 'ErrorInvalidRequest', `Cannot convert the literal '${dateTime}' to the expected type 'Edm.DateTime'.`);
  const local: LocalDateTime = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4] ?? 0),
    minute: Number(m[5] ?? 0),
    second: Number(m[6] ?? 0),
    ms: m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0,
  };
  const zone = resolveZone(zoneName);
  if (m[8]) {
    const off = m[8];
    let offsetMs = 0;
    if (off !== 'Z') {
      const sign = off.startsWith('-') ? -1 : 1;
      const digits = off.slice(1).replace(':', '');
      offsetMs = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
    }
    const epochMs = localAsUtc(local) - offsetMs;
    return { epochMs, local: toLocal(epochMs, zone), zone };
  }
  return { epochMs: fromLocal(local, zone), local, zone };
}

/** Parses a query-string instant (startDateTime=...); no offset means UTC, as Graph does. */
export function parseQueryInstant(value: string, param: string): number {
  const m = DT_RE.exec(value.trim());
  if (!m) throw new GraphError(400, 'ErrorInvalidParameter', `The value '${value}' of parameter '${param}' is invalid.`);
  return parseGraphDateTime(value, 'UTC').epochMs;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Graph's dateTime text: "2024-01-01T10:00:00.0000000". */
export function formatLocal(l: LocalDateTime): string {
  return `${pad(l.year, 4)}-${pad(l.month)}-${pad(l.day)}T${pad(l.hour)}:${pad(l.minute)}:${pad(l.second)}.${pad(l.ms, 3)}0000`;
}

export function formatInZone(epochMs: number, zone: string): string {
  return formatLocal(toLocal(epochMs, zone));
}

/** Edm.DateTimeOffset in UTC, as Graph writes it ("2024-01-01T10:00:00Z"; fractional seconds when present). */
export function isoUtc(epochMs: number): string {
  const s = new Date(epochMs).toISOString();
  return s.endsWith('.000Z') ? s.replace('.000Z', 'Z') : s;
}

/* ---- plain calendar dates as day numbers (days since 1970-01-01) ---- */

export const dayNumber = (y: number, m: number, d: number): number => Math.floor(Date.UTC(y, m - 1, d) / 86_400_000);

export function fromDayNumber(n: number): { year: number; month: number; day: number } {
  const d = new Date(n * 86_400_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** 0 = Sunday … 6 = Saturday. */
export const weekday = (n: number): number => (((n + 4) % 7) + 7) % 7;

export const daysInMonth = (y: number, m: number): number => new Date(Date.UTC(y, m, 0)).getUTCDate();

export function parseDate(value: string, field: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) throw new GraphError(400, 'ErrorInvalidRequest', `The value '${value}' of '${field}' is not a valid date.`);
  return dayNumber(Number(m[1]), Number(m[2]), Number(m[3]));
}

export function formatDate(n: number): string {
  const d = fromDayNumber(n);
  return `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`;
}
