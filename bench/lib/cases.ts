/**
 * The four benchmark cases. Each has a wrk Lua script (bench/wrk/) and the same request mix as a JS generator,
 * used by the autocannon fallback and by the sanity probe that checks the requests are valid before measuring.
 */
import { CALENDARS_PATH } from './server.js';
import { COWORKERS, NAME_TERMS, RESOURCES } from './synth.js';

export interface BenchRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

/** How a server names things: calbridge's Nexudus routes, or the reference kit's bare server. */
export interface Flavor {
  collection: string;
  resourceParam: string;
  nameParam: string;
}

export const CALBRIDGE: Flavor = {
  collection: CALENDARS_PATH,
  resourceParam: 'CoworkerMsOfficeCalendar_Resource',
  nameParam: 'CoworkerMsOfficeCalendar_Name',
};

export const REFERENCE: Flavor = {
  collection: '/api/coworker-ms-office-calendars',
  resourceParam: 'ResourceId',
  nameParam: 'NameContains',
};

export interface BenchCase {
  letter: 'a' | 'b' | 'c' | 'd';
  id: 'get' | 'post' | 'resource' | 'name';
  label: string;
  script: string;
  /** Writes rows: the rows it adds are removed after the case. */
  writes: boolean;
  next(rows: number, flavor?: Flavor): BenchRequest;
}

const rnd = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));
let posted = 0;
const runTag = Math.floor(Date.now() / 1000);

export const CASES: BenchCase[] = [
  {
    letter: 'a', id: 'get', label: 'GET by id', script: 'get.lua', writes: false,
    next: (rows, f = CALBRIDGE) => ({ method: 'GET', path: `${f.collection}/${rnd(1, rows)}` }),
  },
  {
    letter: 'b', id: 'post', label: 'POST create', script: 'post.lua', writes: true,
    next: (_rows, f = CALBRIDGE) => {
      posted++;
      const expires = new Date(Date.now() + 86_400_000 + rnd(0, 30 * 86_400_000)).toISOString();
      return {
        method: 'POST',
        path: f.collection,
        body: JSON.stringify({
          ResourceId: rnd(1, RESOURCES),
          CoworkerId: rnd(1, COWORKERS),
          Name: `Bench Writer calendar ${posted}`,
          SubscriptionId: `bench-sub-${runTag}-${posted}`,
          CalendarId: `AAMkAGI2benchcal${String(posted).padStart(10, '0')}AAAAAAEGAAA=`,
          SubscriptionExpireDate: expires,
        }),
      };
    },
  },
  {
    letter: 'c', id: 'resource', label: 'list Resource=', script: 'list_resource.lua', writes: false,
    next: (_rows, f = CALBRIDGE) => ({ method: 'GET', path: `${f.collection}?${f.resourceParam}=${rnd(1, RESOURCES)}&page=${rnd(1, 3)}&size=20` }),
  },
  {
    letter: 'd', id: 'name', label: 'list Name contains', script: 'list_name.lua', writes: false,
    next: (_rows, f = CALBRIDGE) => ({
      method: 'GET',
      path: `${f.collection}?${f.nameParam}=${NAME_TERMS[rnd(0, NAME_TERMS.length - 1)]}&page=${rnd(1, 5)}&size=20`,
    }),
  },
];

/** `--only get,c`: case ids or letters, comma-separated. */
export function selectCases(only: string | undefined): BenchCase[] {
  if (!only) return CASES;
  const wanted = only.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const unknown = wanted.filter((w) => !CASES.some((c) => c.id === w || c.letter === w));
  if (unknown.length) throw new Error(`unknown case ${unknown.join(', ')}; use ${CASES.map((c) => `${c.letter}/${c.id}`).join(', ')}`);
  return CASES.filter((c) => wanted.includes(c.id) || wanted.includes(c.letter));
}
