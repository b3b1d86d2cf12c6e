import type { DayOfWeek, PatternedRecurrence, RecurrencePatternType, RecurrenceRangeType, WeekIndex } from '@microsoft/microsoft-graph-types';
import { GraphError } from './errors.js';
import { dayNumber, daysInMonth, formatDate, fromDayNumber, fromLocal, parseDate, weekday, type LocalDateTime } from './time.js';

const DAYS: DayOfWeek[] = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const INDEXES: WeekIndex[] = ['first', 'second', 'third', 'fourth', 'last'];
const PATTERN_TYPES: RecurrencePatternType[] = ['daily', 'weekly', 'absoluteMonthly', 'relativeMonthly', 'absoluteYearly', 'relativeYearly'];
const RANGE_TYPES: RecurrenceRangeType[] = ['endDate', 'noEnd', 'numbered'];

/** A recurrence with every field Graph returns filled in (the shape Graph echoes on a series master). */
export interface NormalizedRecurrence {
  pattern: {
    type: RecurrencePatternType;
    interval: number;
    month: number;
    dayOfMonth: number;
    daysOfWeek: DayOfWeek[];
    firstDayOfWeek: DayOfWeek;
    index: WeekIndex;
  };
  range: {
    type: RecurrenceRangeType;
    startDate: string;
    endDate: string;
    recurrenceTimeZone: string;
    numberOfOccurrences: number;
  };
}

const invalid = (message: string): GraphError => new GraphError(400, 'ErrorInvalidRecurrence', message);

/** Validates a PatternedRecurrence from a request and fills defaults. `startLocal` is the event's start. */
export function normalizeRecurrence(input: PatternedRecurrence, startLocal: LocalDateTime, zoneName: string): NormalizedRecurrence {
  const p = input.pattern;
  const r = input.range;
  if (!p || !r) throw invalid('Recurrence must have both a pattern and a range.');
  const type = p.type ?? undefined;
  if (!type || !PATTERN_TYPES.includes(type)) throw invalid(`Recurrence pattern type '${String(type)}' is not valid.`);
  const interval = p.interval ?? 1;
  if (!Number.isInteger(interval) || interval < 1 || interval > 999) throw invalid('Recurrence pattern interval must be between 1 and 999.');
  const daysOfWeek = (p.daysOfWeek ?? []).map((d) => String(d).toLowerCase() as DayOfWeek);
  for (const d of daysOfWeek) if (!DAYS.includes(d)) throw invalid(`'${d}' is not a valid day of week.`);
  const firstDayOfWeek = (p.firstDayOfWeek ? String(p.firstDayOfWeek).toLowerCase() : 'sunday') as DayOfWeek;
  if (!DAYS.includes(firstDayOfWeek)) throw invalid(`'${firstDayOfWeek}' is not a valid first day of week.`);
  const index = (p.index ?? 'first') as WeekIndex;
  if (!INDEXES.includes(index)) throw invalid(`'${index}' is not a valid week index.`);
  const dayOfMonth = p.dayOfMonth ?? 0;
  const month = p.month ?? 0;
  if ((type === 'weekly' || type === 'relativeMonthly' || type === 'relativeYearly') && daysOfWeek.length === 0) {
    throw invalid(`A ${type} recurrence pattern needs daysOfWeek.`);
  }
  if ((type === 'absoluteMonthly' || type === 'absoluteYearly') && (dayOfMonth < 1 || dayOfMonth > 31)) {
    throw invalid(`A ${type} recurrence pattern needs dayOfMonth between 1 and 31.`);
  }
  if ((type === 'absoluteYearly' || type === 'relativeYearly') && (month < 1 || month > 12)) {
    throw invalid(`A ${type} recurrence pattern needs month between 1 and 12.`);
  }
  const rangeType = r.type ?? undefined;
  if (!rangeType || !RANGE_TYPES.includes(rangeType)) throw invalid(`Recurrence range type '${String(rangeType)}' is not valid.`);
  const startDate = r.startDate ?? formatDate(dayNumber(startLocal.year, startLocal.month, startLocal.day));
  const startDay = parseDate(startDate, 'range.startDate');
  let endDate = '0001-01-01';
  let numberOfOccurrences = 0;
  if (rangeType === 'endDate') {
    if (!r.endDate) throw invalid('A recurrence range of type endDate needs endDate.');
    const endDay = parseDate(r.endDate, 'range.endDate');
    if (endDay < startDay) throw invalid('The recurrence range endDate is before its startDate.');
    endDate = r.endDate;
  } else if (rangeType === 'numbered') {
    numberOfOccurrences = r.numberOfOccurrences ?? 0;
    if (!Number.isInteger(numberOfOccurrences) || numberOfOccurrences < 1 || numberOfOccurrences > 999) {
      throw invalid('A recurrence range of type numbered needs numberOfOccurrences between 1 and 999.');
    }
  }
  return {
    pattern: {
      type,
      interval,
      month: type === 'absoluteYearly' || type === 'relativeYearly' ? month : 0,
      dayOfMonth: type === 'absoluteMonthly' || type === 'absoluteYearly' ? dayOfMonth : 0,
      daysOfWeek: type === 'daily' || type === 'absoluteMonthly' || type === 'absoluteYearly' ? [] : daysOfWeek,
      firstDayOfWeek,
      index: type === 'relativeMonthly' || type === 'relativeYearly' ? index : 'first',
    },
    range: { type: rangeType, startDate, endDate, recurrenceTimeZone: r.recurrenceTimeZone ?? zoneName, numberOfOccurrences },
  };
}

function relativeDay(year: number, month: number, days: Set<number>, index: WeekIndex): number | undefined {
  const matches: number[] = [];
  const dim = daysInMonth(year, month);
  for (let d = 1; d <= dim; d++) {
    const n = dayNumber(year, month, d);
    if (days.has(weekday(n))) matches.push(n);
  }
  if (index === 'last') return matches[matches.length - 1];
  return matches[INDEXES.indexOf(index)];
}

/** Pattern days (day numbers) from the range start, in order, unbounded (the caller stops). */
function* patternDays(rec: NormalizedRecurrence): Generator<number> {
  const { pattern } = rec;
  const startDay = parseDate(rec.range.startDate, 'range.startDate');
  const start = fromDayNumber(startDay);
  const dows = new Set(pattern.daysOfWeek.map((d) => DAYS.indexOf(d)));
  const step = pattern.interval;
  switch (pattern.type) {
    case 'daily':
      for (let d = startDay; ; d += step) yield d;
    case 'weekly': {
      const fdow = DAYS.indexOf(pattern.firstDayOfWeek);
      const week0 = startDay - ((weekday(startDay) - fdow + 7) % 7);
      for (let w = 0; ; w += step) {
        for (let i = 0; i < 7; i++) {
          const d = week0 + w * 7 + i;
          if (d >= startDay && dows.has(weekday(d))) yield d;
        }
      }
    }
    case 'absoluteMonthly':
    case 'relativeMonthly':
      for (let k = 0; ; k += step) {
        const mIndex = start.month - 1 + k;
        const y = start.year + Math.floor(mIndex / 12);
        const m = (mIndex % 12) + 1;
        const d =
          pattern.type === 'absoluteMonthly'
            ? dayNumber(y, m, Math.min(pattern.dayOfMonth, daysInMonth(y, m)))
            : relativeDay(y, m, dows, pattern.index);
        if (d !== undefined && d >= startDay) yield d;
      }
    case 'absoluteYearly':
    case 'relativeYearly':
      for (let k = 0; ; k += step) {
        const y = start.year + k;
        const m = pattern.month;
        const d =
          pattern.type === 'absoluteYearly'
            ? dayNumber(y, m, Math.min(pattern.dayOfMonth, daysInMonth(y, m)))
            : relativeDay(y, m, dows, pattern.index);
        if (d !== undefined && d >= startDay) yield d;
      }
  }
}

/**
 * Original start instants of a series, in order, stopping at `untilMs` (exclusive) or at the end of the range.
 * The wall-clock time of day of the master's start is kept in its zone on every date (DST-correct).
 */
export function expandSeries(rec: NormalizedRecurrence, startLocal: LocalDateTime, zone: string, untilMs: number, cap = 20_000): number[] {
  const out: number[] = [];
  const endDay = rec.range.type === 'endDate' ? parseDate(rec.range.endDate, 'range.endDate') : Infinity;
  const limit = rec.range.type === 'numbered' ? rec.range.numberOfOccurrences : Infinity;
  for (const d of patternDays(rec)) {
    if (d > endDay || out.length >= limit || out.length >= cap) break;
    const date = fromDayNumber(d);
    const t = fromLocal({ ...date, hour: startLocal.hour, minute: startLocal.minute, second: startLocal.second, ms: startLocal.ms }, zone);
    if (t >= untilMs) break;
    out.push(t);
  }
  return out;
}
