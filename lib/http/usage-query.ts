import { DAY_MS } from '../domain/cost.ts';
import { ValidationError } from '../domain/errors.ts';
import { GROUP_BY, type GroupBy } from '../domain/usage.ts';

export const USAGE_FORMATS = ['json', 'csv'] as const;
export type UsageFormat = (typeof USAGE_FORMATS)[number];

export interface UsageQuery {
  from: number;
  to: number;
  groupBy: GroupBy;
  format: UsageFormat;
}

/** A year and a day: enough for any yearly report, small enough to answer inside 30 s. */
export const MAX_REPORT_DAYS = 366;
export const DEFAULT_REPORT_DAYS = 30;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Midnight UTC of a YYYY-MM-DD that exists (Date.UTC and Date.parse roll 02-30 into March). */
function utcDate(value: string): number | undefined {
  const [year, month, day] = value.split('-').map(Number);
  const start = Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 0);
  if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== value) return undefined;
  return start;
}

const below = (text: string | undefined, limit: number): boolean =>
  text === undefined || Number(text) < limit;

/**
 * A report bound: a UTC date (`2026-11-01`) or an ISO 8601 time with its offset. A date as
 * `to` means the end of that day, so `from=2026-11-01&to=2026-11-30` is all of November.
 * Only these two shapes, checked field by field: Date.parse accepts far more, and guesses.
 */
export function parseReportTime(value: string, bound: 'from' | 'to'): number {
  if (DATE.test(value)) {
    const start = utcDate(value);
    if (start === undefined) throw new ValidationError(`${bound} is not a real date`);
    return bound === 'to' ? start + DAY_MS : start;
  }
  const parts = DATE_TIME.exec(value);
  if (parts) {
    const [, date, hours, minutes, seconds, offsetHours, offsetMinutes] = parts;
    const valid =
      utcDate(date ?? '') !== undefined &&
      below(hours, 24) &&
      below(minutes, 60) &&
      below(seconds, 60) &&
      below(offsetHours, 24) &&
      below(offsetMinutes, 60);
    const at = Date.parse(value);
    if (valid && !Number.isNaN(at)) return at;
    throw new ValidationError(`${bound} is not a real time`);
  }
  throw new ValidationError(`${bound} must be a date (YYYY-MM-DD) or an ISO 8601 time`);
}

const KNOWN = new Set(['from', 'to', 'groupBy', 'format']);

/**
 * GET /usage's query: `from` (default 30 days before `to`), `to` (default now), `groupBy`
 * (user, target, team or day; default user) and `format` (json or csv; default from the
 * Accept header). Unknown parameters are refused by name, like unknown body fields.
 */
export function parseUsageQuery(
  params: Readonly<Record<string, string | undefined>>,
  now: number,
  accept = '',
): UsageQuery {
  for (const name of Object.keys(params)) {
    if (!KNOWN.has(name))
      throw new ValidationError(`unknown query parameter '${name.slice(0, 40)}'`);
  }
  const to = params.to === undefined ? now : parseReportTime(params.to, 'to');
  const from =
    params.from === undefined
      ? to - DEFAULT_REPORT_DAYS * DAY_MS
      : parseReportTime(params.from, 'from');
  if (from >= to) throw new ValidationError('from must be before to');
  if (to - from > MAX_REPORT_DAYS * DAY_MS) {
    throw new ValidationError(`a report covers at most ${MAX_REPORT_DAYS} days`);
  }
  const groupBy = params.groupBy ?? 'user';
  if (!(GROUP_BY as readonly string[]).includes(groupBy)) {
    throw new ValidationError(`groupBy must be one of ${GROUP_BY.join(', ')}`);
  }
  const format = params.format ?? (/\btext\/csv\b/i.test(accept) ? 'csv' : 'json');
  if (!(USAGE_FORMATS as readonly string[]).includes(format)) {
    throw new ValidationError(`format must be one of ${USAGE_FORMATS.join(', ')}`);
  }
  return { from, to, groupBy: groupBy as GroupBy, format: format as UsageFormat };
}
