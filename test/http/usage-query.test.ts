import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/domain/errors.ts';
import { MAX_REPORT_DAYS, parseReportTime, parseUsageQuery } from '../../lib/http/usage-query.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-24T09:00:00Z');

describe('GET /usage query', () => {
  it('reads dates as UTC days, a date as `to` meaning the end of that day', () => {
    expect(parseUsageQuery({ from: '2026-11-01', to: '2026-11-30' }, NOW)).toEqual({
      from: Date.parse('2026-11-01T00:00:00Z'),
      to: Date.parse('2026-12-01T00:00:00Z'),
      groupBy: 'user',
      format: 'json',
    });
  });

  it('accepts ISO times with an offset, and defaults to the last 30 days until now', () => {
    const query = parseUsageQuery({ from: '2026-11-01T10:00+02:00', groupBy: 'day' }, NOW);
    expect(query.from).toBe(Date.parse('2026-11-01T08:00:00Z'));
    expect(query.to).toBe(NOW);
    expect(parseUsageQuery({}, NOW)).toMatchObject({ from: NOW - 30 * DAY, to: NOW });
  });

  it('takes CSV from format=csv or from Accept: text/csv', () => {
    expect(parseUsageQuery({ format: 'csv' }, NOW).format).toBe('csv');
    expect(parseUsageQuery({}, NOW, 'text/csv;q=0.9, */*').format).toBe('csv');
    expect(parseUsageQuery({ format: 'json' }, NOW, 'text/csv').format).toBe('json');
  });

  it('refuses what it cannot answer, saying which parameter', () => {
    const refused = (params: Record<string, string>) => () => parseUsageQuery(params, NOW);
    expect(refused({ from: '2026-02-30' })).toThrow('from is not a real date');
    expect(refused({ from: '2026-02-28T24:00Z' })).toThrow('from is not a real time');
    expect(refused({ to: 'yesterday' })).toThrow(/^to must be a date/);
    expect(refused({ from: '2026-11-02', to: '2026-11-01' })).toThrow('from must be before to');
    expect(refused({ from: '2024-01-01', to: '2026-01-01' })).toThrow(
      `a report covers at most ${MAX_REPORT_DAYS} days`,
    );
    expect(refused({ groupBy: 'owner' })).toThrow('groupBy must be one of user, target, team, day');
    expect(refused({ format: 'xlsx' })).toThrow('format must be one of json, csv');
    expect(refused({ limit: '10' })).toThrow("unknown query parameter 'limit'");
  });

  it('property: any query either parses to a bounded window or is a ValidationError', () => {
    const value = fc.oneof(
      fc.string(),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('from', 'to', 'groupBy', 'format', 'x'), value),
        fc.string(),
        (params, accept) => {
          try {
            const query = parseUsageQuery(params, NOW, accept);
            expect(query.from).toBeLessThan(query.to);
            expect(query.to - query.from).toBeLessThanOrEqual(MAX_REPORT_DAYS * DAY);
            expect(Number.isFinite(query.from)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
        },
      ),
    );
  });

  it('property: every real date and time round-trips', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1971-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }),
        (date) => {
          const day = date.toISOString().slice(0, 10);
          const midnight = Date.parse(`${day}T00:00:00Z`);
          expect(parseReportTime(day, 'from')).toBe(midnight);
          expect(parseReportTime(day, 'to')).toBe(midnight + DAY);
          expect(parseReportTime(date.toISOString(), 'from')).toBe(date.getTime());
        },
      ),
    );
  });
});
