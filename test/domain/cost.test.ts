import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bastionCost,
  billedInterval,
  billedSecondsIn,
  controlPlaneCost,
  defaultPricing,
  idleBaselineCost,
  PricingSchema,
  roundMoney,
  usedSecondsIn,
} from '../../lib/domain/cost.ts';
import { PolicyError } from '../../lib/domain/errors.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import { TEST_POLICY_YAML } from '../support/fakes.ts';

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY1 = Date.UTC(2026, 10, 1);
const DAY2 = Date.UTC(2026, 10, 2);
const DAY3 = Date.UTC(2026, 10, 3);

describe('per-second billing with a 60 s minimum', () => {
  it('bills a 20 s run as 60 s, a 90.2 s run as 91 s and a 30 min run as 1800 s', () => {
    expect(billedInterval({ start: DAY1, end: DAY1 + 20 * SECOND })).toEqual({
      start: DAY1,
      end: DAY1 + 60 * SECOND,
    });
    expect(billedInterval({ start: DAY1, end: DAY1 + 90_200 })).toEqual({
      start: DAY1,
      end: DAY1 + 91 * SECOND,
    });
    expect(billedInterval({ start: DAY1, end: DAY1 + 30 * MINUTE }).end).toBe(DAY1 + 30 * MINUTE);
    expect(billedInterval({ start: DAY1, end: DAY1 }).end).toBe(DAY1 + MINUTE);
  });

  it('prices 30 minutes of t4g.nano at $0.0021 plus $0.0025 of public IPv4', () => {
    const seconds = billedSecondsIn(
      { start: DAY1, end: DAY1 + 30 * MINUTE },
      { start: DAY1, end: DAY2 },
    );
    expect(seconds).toBe(1_800);
    const cost = bastionCost(seconds, 't4g.nano', defaultPricing());
    // 1800 s x $0.0042/h / 3600 = $0.0021; 1800 s x $0.005/h / 3600 = $0.0025
    expect(cost.instance).toBeCloseTo(0.0021, 12);
    expect(cost.publicIpv4).toBeCloseTo(0.0025, 12);
    expect(cost.priced).toBe(true);
  });

  it('charges the minute for a 20 s bastion: $0.00007 of t4g.nano', () => {
    const seconds = billedSecondsIn(
      { start: DAY1, end: DAY1 + 20 * SECOND },
      { start: DAY1, end: DAY2 },
    );
    expect(seconds).toBe(60);
    expect(
      usedSecondsIn({ start: DAY1, end: DAY1 + 20 * SECOND }, { start: DAY1, end: DAY2 }),
    ).toBe(20);
    // 60 s x 0.0042 / 3600
    expect(bastionCost(seconds, 't4g.nano', defaultPricing()).instance).toBeCloseTo(0.00007, 12);
  });

  it('splits a run across a report boundary: 23:50 to 00:20 is 600 s before and 1200 s after', () => {
    const run = { start: DAY2 - 10 * MINUTE, end: DAY2 + 20 * MINUTE };
    const before = billedSecondsIn(run, { start: DAY1, end: DAY2 });
    const after = billedSecondsIn(run, { start: DAY2, end: DAY3 });
    expect(before).toBe(600);
    expect(after).toBe(1_200);
    expect(bastionCost(before, 't4g.nano', defaultPricing()).instance).toBeCloseTo(0.0007, 12);
    expect(bastionCost(after, 't4g.nano', defaultPricing()).instance).toBeCloseTo(0.0014, 12);
  });

  it("puts the minimum at the run's start, so a 10 s run at 23:59:30 bills 30 s on each day", () => {
    const run = { start: DAY2 - 30 * SECOND, end: DAY2 - 20 * SECOND };
    expect(billedSecondsIn(run, { start: DAY1, end: DAY2 })).toBe(30);
    expect(billedSecondsIn(run, { start: DAY2, end: DAY3 })).toBe(30);
    expect(usedSecondsIn(run, { start: DAY2, end: DAY3 })).toBe(0);
  });

  it('counts only the window for a run that started before it and ends after it', () => {
    const run = { start: DAY1 - HOUR, end: DAY2 + HOUR };
    expect(billedSecondsIn(run, { start: DAY1, end: DAY2 })).toBe(86_400);
    expect(billedSecondsIn(run, { start: DAY1 + HOUR, end: DAY1 + 2 * HOUR })).toBe(3_600);
  });

  it('does not price an instance type the table lacks, but still counts its IPv4', () => {
    const cost = bastionCost(3_600, 'x9g.huge', defaultPricing());
    expect(cost).toEqual({ instance: 0, publicIpv4: 0.005, priced: false });
    expect(bastionCost(3_600, undefined, defaultPricing()).priced).toBe(false);
  });

  it('property: windows that tile the timeline add up to the whole bill, never under a minute', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        fc.integer({ min: 0, max: 2 * 86_400_000 }),
        fc.array(fc.integer({ min: 1, max: 6 * 86_400_000 }), { maxLength: 8 }),
        (offset, length, cuts) => {
          const run = { start: DAY1 + offset, end: DAY1 + offset + length };
          const edges = [DAY1 - 86_400_000, ...cuts.map((cut) => DAY1 + cut), DAY3 + 6 * 86_400_000]
            .sort((a, b) => a - b)
            .filter((edge, index, all) => index === 0 || edge !== all[index - 1]);
          let billed = 0;
          let used = 0;
          for (let index = 1; index < edges.length; index += 1) {
            const window = { start: edges[index - 1] ?? 0, end: edges[index] ?? 0 };
            billed += billedSecondsIn(run, window);
            used += usedSecondsIn(run, window);
          }
          const whole = Math.max(60, Math.ceil(length / 1_000));
          expect(billed).toBeCloseTo(whole, 6);
          expect(used).toBeCloseTo(length / 1_000, 6);
          expect(billed).toBeGreaterThanOrEqual(used - 1e-6);
        },
      ),
    );
  });
});

describe('control plane and idle baseline', () => {
  it('estimates Lambda and DynamoDB from session and event counts', () => {
    // 10 sessions x 8 invocations = 80; 80 x 0.2 s x 0.25 GB = 4 GB-s
    // Lambda: 80 x $0.20/M + 4 x $0.0000133334 = $0.000016 + $0.0000533336
    // DynamoDB: 50 events x 10 WRU x $0.625/M + 50 x 4 RRU x $0.125/M = $0.0003125 + $0.000025
    const cost = controlPlaneCost(10, 50, defaultPricing());
    expect(cost.lambda).toBeCloseTo(0.0000693336, 12);
    expect(cost.dynamodb).toBeCloseTo(0.0003375, 12);
    expect(controlPlaneCost(0, 0, defaultPricing())).toEqual({ lambda: 0, dynamodb: 0 });
  });

  it('costs one idle day of reaper at $0.0017280072', () => {
    // 1440 x $0.20/M = $0.000288; 1440 x 0.3 s x 0.25 GB = 108 GB-s x $0.0000133334
    expect(idleBaselineCost(86_400_000, defaultPricing())).toBeCloseTo(0.0017280072, 12);
    expect(idleBaselineCost(0, defaultPricing())).toBe(0);
  });

  it('rounds money to the micro-dollar', () => {
    expect(roundMoney(0.0000693336)).toBe(0.000069);
    expect(roundMoney(0.0021)).toBe(0.0021);
  });
});

describe('pricing in the policy', () => {
  const withPricing = (block: string) => `${TEST_POLICY_YAML}finopsGroup: finops\n${block}`;

  it('is optional; a partial block keeps the defaults for what it leaves out', () => {
    expect(parsePolicy(TEST_POLICY_YAML).pricing).toBeUndefined();
    const policy = parsePolicy(
      withPricing('pricing:\n  instanceHourly:\n    t4g.nano: 0.0053\n  publicIpv4Hourly: 0.006\n'),
    );
    expect(policy.finopsGroup).toBe('finops');
    expect(policy.pricing?.instanceHourly).toEqual({ 't4g.nano': 0.0053 });
    expect(policy.pricing?.publicIpv4Hourly).toBe(0.006);
    expect(policy.pricing?.lambda).toEqual(defaultPricing().lambda);
    expect(policy.pricing?.dynamodb.perMillionWriteUnits).toBe(0.625);
  });

  it('refuses a negative price, an unknown field or a bad instance type, naming it', () => {
    expect(() => parsePolicy(withPricing('pricing:\n  publicIpv4Hourly: -1\n'))).toThrow(
      /pricing\.publicIpv4Hourly/,
    );
    expect(() => parsePolicy(withPricing('pricing:\n  lambda:\n    perRequest: 1\n'))).toThrow(
      PolicyError,
    );
    expect(() =>
      parsePolicy(withPricing('pricing:\n  instanceHourly:\n    "NANO": 0.1\n')),
    ).toThrow(/pricing\.instanceHourly/);
  });

  it('property: any non-negative price table validates and is kept as given', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.stringMatching(/^[a-z][a-z0-9]{0,5}\.[a-z0-9]{1,6}$/),
          fc.double({ min: 0, max: 100, noNaN: true }),
        ),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (table, ipv4) => {
          const parsed = PricingSchema.parse({ instanceHourly: table, publicIpv4Hourly: ipv4 });
          expect(parsed.instanceHourly).toEqual(table);
          expect(parsed.publicIpv4Hourly).toBe(ipv4);
        },
      ),
    );
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const result = PricingSchema.safeParse(value);
        if (result.success) expect(result.data.currency).toBe('USD');
      }),
    );
  });
});
