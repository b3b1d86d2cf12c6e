/**
 * Dates on the wire: ISO 8601 in, ISO 8601 UTC with "Z" out. A value without a zone is UTC.
 * Stored as `toISOString()` text (fixed width), so text comparison is time comparison.
 */
export type DatePrecision = 'day' | 'minute' | 'second' | 'millisecond';

export interface ParsedDate {
  ms: number;
  precision: DatePrecision;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export function parseIsoDate(input: string): ParsedDate | null {
  const m = ISO.exec(input.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  const millis = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null; // 2030-02-31
  if (year < 100) ms = new Date(ms).setUTCFullYear(year);
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offHours = Number(digits.slice(0, 2));
    const offMinutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (offHours > 23 || offMinutes > 59) return null;
    ms -= sign * (offHours * 60 + offMinutes) * 60_000;
  }
  // Years 1..9999 only, also after a zone offset moved the instant (toISOString would write "+010000-...").
  const resultYear = new Date(ms).getUTCFullYear();
  if (!Number.isFinite(ms) || resultYear < 1 || resultYear > 9999) return null;
  const precision: DatePrecision = h === undefined ? 'day' : s === undefined ? 'minute' : frac === undefined ? 'second' : 'millisecond';
  return { ms, precision };
}

const UNIT_MS: Record<DatePrecision, number> = { day: 86_400_000, minute: 60_000, second: 1000, millisecond: 1 };

/** The first instant after year 9999: no stored date reaches it (parseIsoDate refuses later years). */
const END_OF_TIME_MS = Date.UTC(10000, 0, 1);

/**
 * The half-open interval [from, to) of instants that a value "matches at the precision given". `to` is null when the
 * unit ends with year 9999 (`9999-12-31`, `9999-12-31T23:59`): its end has no ISO text of the stored width
 * (toISOString writes "+010000-01-01T..."), and no stored date is at or after it, so there is no upper bound.
 */
export function dateRange(parsed: ParsedDate): { from: string; to: string | null } {
  const end = parsed.ms + UNIT_MS[parsed.precision];
  return { from: toIso(parsed.ms), to: end >= END_OF_TIME_MS ? null : toIso(end) };
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}
