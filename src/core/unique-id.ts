import { randomUUID } from 'node:crypto';

/**
 * A record's UniqueId: a UUID version 7 (RFC 9562 §5.7), the creation time in milliseconds followed by 74 random bits.
 * Ids made close in time sort close together, so each create adds to the same few pages of the unique index instead
 * of a random page of it (on 1M rows, 13–15 µs less per SQLite insert and one WAL page fewer; README "Performance").
 * The random bits are crypto.randomUUID's (cached entropy; ten times faster than the uuid package's v7), with its
 * version nibble replaced; its variant bits stay.
 */
export function newUniqueId(nowMs: number): string {
  if (!Number.isFinite(nowMs)) throw new RangeError(`newUniqueId: not a time: ${nowMs}`);
  const time = Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0').slice(-12);
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
