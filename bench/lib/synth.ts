/**
 * Synthetic calendar records shaped like the reference kit's rows (same 64 first and 64 last names, so that a last
 * name such as "quist" or "smith" is a substring of about 1/64 ≈ 1.6% of all names), generated deterministically
 * from the row number except for the UUIDs.
 */
import { randomUUID } from 'node:crypto';

export const RESOURCES = 10_000;
export const COWORKERS = 50_000;

export const FIRST_NAMES = [
  'Anna', 'Ben', 'Carla', 'David', 'Eva', 'Felix', 'Greta', 'Hugo', 'Ida', 'Jonas', 'Klara', 'Lars', 'Mia', 'Nils', 'Olga', 'Paul',
  'Quinn', 'Rosa', 'Sven', 'Tara', 'Uwe', 'Vera', 'Willem', 'Xenia', 'Yusuf', 'Zoe', 'Amir', 'Bea', 'Cem', 'Dana', 'Emil', 'Fay',
  'Gino', 'Hana', 'Ivo', 'Jana', 'Kai', 'Lina', 'Mats', 'Nora', 'Omar', 'Pia', 'Rafael', 'Sara', 'Tom', 'Ulla', 'Vito', 'Wanda',
  'Yara', 'Zeno', 'Alba', 'Bruno', 'Cleo', 'Dirk', 'Elif', 'Finn', 'Gaia', 'Henk', 'Iris', 'Joel', 'Kira', 'Luca', 'Maja', 'Noel',
] as const;

export const LAST_NAMES = [
  'Smith', 'Jensen', 'Garcia', 'Muller', 'Rossi', 'Novak', 'Kowalski', 'Nielsen', 'Dubois', 'Silva', 'Horvat', 'Meyer', 'Larsen', 'Costa',
  'Weber', 'Fischer', 'Becker', 'Hoffmann', 'Schulz', 'Koch', 'Richter', 'Wolf', 'Neumann', 'Braun', 'Zimmermann', 'Kruger', 'Hartmann', 'Lange',
  'Werner', 'Krause', 'Lehmann', 'Schmitt', 'Walter', 'Maier', 'Kaiser', 'Fuchs', 'Peters', 'Moller', 'Scholz', 'Haas', 'Vogel', 'Friedrich',
  'Keller', 'Gunther', 'Frank', 'Berger', 'Winkler', 'Roth', 'Beck', 'Lorenz', 'Baumann', 'Albrecht', 'Simon', 'Ludwig', 'Bohm', 'Winter',
  'Kraus', 'Martin', 'Schubert', 'Jung', 'Jager', 'Otto', 'Sommer', 'Quist',
] as const;

/** The search terms of the Name-substring case: each is in exactly one last name, so each matches ~1/64 of the rows. */
export const NAME_TERMS = ['quist', 'smith', 'jensen', 'garcia', 'novak'] as const;

/** A 32-bit integer hash (murmur3 finaliser); good enough to spread row numbers evenly over the lists. */
export function hash32(n: number): number {
  let h = (n ^ 0x9e3779b9) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Start of the synthetic timeline: record i was created i seconds later. */
const EPOCH = Date.UTC(2025, 0, 1);

/**
 * The column values of calendar record i (1-based), in the order of CALENDAR_COLUMNS.
 * Returned as an array so the loader can bind it positionally without building an object per row.
 */
export const CALENDAR_COLUMNS = [
  'id', 'unique_id', 'created_on', 'updated_on', 'updated_by', 'is_new', 'system_id',
  'resource_id', 'coworker_id', 'name', 'subscription_id', 'calendar_id', 'subscription_expire_date',
] as const;

export function calendarRow(i: number): unknown[] {
  const h = hash32(i);
  const created = new Date(EPOCH + i * 1000).toISOString();
  return [
    i,
    randomUUID(),
    created,
    created,
    'seed',
    1,
    null,
    1 + (h % RESOURCES),
    i % 10 === 0 ? null : 1 + (hash32(h) % COWORKERS),
    `${FIRST_NAMES[h & 63]} ${LAST_NAMES[(h >>> 6) & 63]} calendar ${i}`,
    randomUUID(),
    `AAMkAGI2${h.toString(16).padStart(8, '0')}${i.toString(16).padStart(8, '0')}AAAAAAEGAAA=`,
    new Date(EPOCH + 30 * 86_400_000 + i * 60_000).toISOString(),
  ];
}
