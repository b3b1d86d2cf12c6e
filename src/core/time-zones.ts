/**
 * Graph's dateTimeTimeZone values: a wall-clock dateTime in a zone named the Windows way ("W. Europe Standard Time")
 * or the IANA way. calbridge asks Graph for UTC (Prefer: outlook.timezone="UTC"), but reads any zone correctly, and
 * writes events in UTC under its Windows name.
 */
import { findIana, findWindows } from 'windows-iana';

const UTC_NAMES = new Set(['utc', 'etc/utc', 'gmt', 'etc/gmt', 'z', 'coordinated universal time']);

/** The instant (ms) of a wall-clock time in a zone; NaN when either is not understood. */
export function zonedToInstant(dateTime: string, timeZone: string | null | undefined): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?/.exec(dateTime);
  if (!m) return NaN;
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0), Math.floor(Number(`0.${m[7] ?? 0}`) * 1000));
  const zone = (timeZone ?? 'UTC').trim();
  if (UTC_NAMES.has(zone.toLowerCase())) return wall;
  const iana = ianaName(zone);
  if (!iana) return NaN;
  // The zone's offset at that wall time, found by formatting the guess back (twice, for DST edges).
  let guess = wall;
  for (let i = 0; i < 2; i++) guess = wall - offsetMs(iana, guess);
  return guess;
}

function ianaName(zone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return findIana(zone)?.[0];
  }
}

function offsetMs(iana: string, instant: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: iana, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(instant / 1000) * 1000;
}

/** The Windows name Graph expects for UTC ("UTC"). */
export const WINDOWS_UTC = findWindows('Etc/UTC')[0] ?? 'UTC';

/** A zone given by its IANA or Windows name, with both names; undefined when it is neither (or has no Windows name). */
export function windowsZone(zone: string): { iana: string; windows: string } | undefined {
  if (UTC_NAMES.has(zone.trim().toLowerCase())) return { iana: 'UTC', windows: WINDOWS_UTC };
  const iana = ianaName(zone.trim());
  if (!iana) return undefined;
  const windows = findIana(zone.trim())?.length ? zone.trim() : findWindows(iana)?.[0];
  return windows ? { iana, windows } : undefined;
}

/**
 * An instant as Graph's dateTimeTimeZone: the wall-clock time in `zone` (default UTC), named the Windows way, as
 * Outlook shows it to the member (an event written in their space's zone reads and edits naturally).
 */
export function graphDateTime(iso: string, zone = 'UTC'): { dateTime: string; timeZone: string } {
  const z = windowsZone(zone) ?? { iana: 'UTC', windows: WINDOWS_UTC };
  if (z.iana === 'UTC') return { dateTime: iso.replace(/Z$/, ''), timeZone: z.windows };
  const instant = Date.parse(iso);
  const wall = new Date(Math.floor(instant / 1000) * 1000 + offsetMs(z.iana, instant) + (instant % 1000)).toISOString();
  return { dateTime: wall.replace(/Z$/, ''), timeZone: z.windows };
}
