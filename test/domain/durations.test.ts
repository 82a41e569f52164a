import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMinutes, parseDuration, sshExpiryTime } from '../../lib/domain/durations.ts';
import { ValidationError } from '../../lib/domain/errors.ts';

describe('parseDuration', () => {
  it.each([
    ['30m', 30],
    ['1h', 60],
    ['2h', 120],
    ['1h30m', 90],
    ['24h', 1440],
    ['90', 90],
    ['5', 5],
    [' 45m ', 45],
    ['0h15m', 15],
    ['1h0m', 60],
  ])('%j → %d minutes', (text, minutes) => {
    expect(parseDuration(text)).toBe(minutes);
  });

  it.each([
    '',
    '   ',
    'h',
    'm',
    'abc',
    '30s',
    '1d',
    '1.5h',
    '-5',
    '-5m',
    '+5m',
    '30M',
    '1H',
    '30m1h',
    '1h 30m',
    '1h30',
    '30mm',
    '1e3',
    '0x10',
    '123456',
    '1234h',
    '12345m',
    '３０m',
    '30m\n1h',
  ])('%j is not a duration', (text) => {
    expect(() => parseDuration(text)).toThrow(ValidationError);
    expect(() => parseDuration(text)).toThrow(/use forms like 30m, 2h or 1h30m/);
  });

  it('quotes at most 20 characters of what it refused', () => {
    const garbage = `zz${'y'.repeat(5000)}`;
    let message = '';
    try {
      parseDuration(garbage);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`'zz${'y'.repeat(18)}'`);
    expect(message.length).toBeLessThan(100);
  });

  it('property: formatMinutes then parseDuration round-trips for 1..1440', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1440 }), (minutes) => {
        expect(parseDuration(formatMinutes(minutes))).toBe(minutes);
      }),
      { numRuns: 1440 },
    );
  });

  it('property: any string either parses to a non-negative whole number or throws ValidationError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9hm ]{0,8}$/)), (text) => {
        try {
          const minutes = parseDuration(text);
          expect(Number.isInteger(minutes)).toBe(true);
          expect(minutes).toBeGreaterThanOrEqual(0);
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatMinutes', () => {
  it.each([
    [1, '1m'],
    [59, '59m'],
    [60, '1h'],
    [61, '1h1m'],
    [90, '1h30m'],
    [1440, '24h'],
  ])('%d → %s', (minutes, text) => {
    expect(formatMinutes(minutes)).toBe(text);
  });
});

describe('sshExpiryTime (authorized_keys expiry-time, UTC)', () => {
  it('formats YYYYMMDDHHMMSSZ', () => {
    expect(sshExpiryTime(Date.UTC(2026, 10, 24, 6, 49, 1, 123))).toBe('20261124064901Z');
    expect(sshExpiryTime(Date.UTC(2027, 0, 2, 3, 4, 5))).toBe('20270102030405Z');
  });

  it('drops milliseconds rather than rounding up, so the key never outlives expiresAt', () => {
    expect(sshExpiryTime(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('20261231235959Z');
  });

  it('property: always 14 digits and Z, and reads back to the same second', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59) }),
        (epochMs) => {
          const text = sshExpiryTime(epochMs);
          expect(text).toMatch(/^\d{14}Z$/);
          const [, y, mo, d, h, mi, s] =
            /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text) ?? [];
          const back = Date.UTC(
            Number(y),
            Number(mo) - 1,
            Number(d),
            Number(h),
            Number(mi),
            Number(s),
          );
          expect(back).toBe(Math.floor(epochMs / 1000) * 1000);
        },
      ),
    );
  });
});
