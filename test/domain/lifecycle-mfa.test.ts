import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../lib/domain/errors.ts';
import {
  identityFromClaims,
  parseAmrClaim,
  parseAuthTimeClaim,
} from '../../lib/domain/identity.ts';
import { hasSecondFactor, requireFreshMfa } from '../../lib/domain/mfa.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import { LIFECYCLE_POLICY_YAML } from '../app/break-glass-world.ts';

const NOW = Date.UTC(2026, 10, 24, 9, 0, 0);
const MINUTE = 60_000;

describe('parseAmrClaim: every shape API Gateway and IdPs send', () => {
  it.each([
    [
      ['pwd', 'mfa'],
      ['pwd', 'mfa'],
    ],
    ['[pwd mfa]', ['pwd', 'mfa']],
    ['["pwd","otp"]', ['pwd', 'otp']],
    ['pwd,hwk', ['pwd', 'hwk']],
    ['mfa', ['mfa']],
    ['[mfa]', ['mfa']],
    [undefined, []],
    [42, []],
    [['mfa', 7, null, 'a b', 'x"y'], ['mfa']],
  ])('%j → %j', (claim, expected) => {
    expect(parseAmrClaim(claim)).toEqual(expected);
  });

  it('property: never throws, only plain method names, no duplicates, at most 20', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.array(fc.string()),
          fc.string(),
          fc.array(fc.string()).map((a) => `[${a.join(' ')}]`),
        ),
        (claim) => {
          const methods = parseAmrClaim(claim);
          expect(new Set(methods).size).toBe(methods.length);
          expect(methods.length).toBeLessThanOrEqual(20);
          for (const method of methods) expect(method).toMatch(/^[A-Za-z0-9_.:-]{1,64}$/);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('parseAuthTimeClaim', () => {
  it('reads seconds as a number or a numeric string (API Gateway flattens claims)', () => {
    expect(parseAuthTimeClaim(1_795_510_000)).toBe(1_795_510_000_000);
    expect(parseAuthTimeClaim('1795510000')).toBe(1_795_510_000_000);
    for (const bad of [
      '',
      'soon',
      '-5',
      '1e9',
      0,
      -1,
      1.5,
      Number.NaN,
      null,
      {},
      '12345678901234',
    ]) {
      expect(parseAuthTimeClaim(bad)).toBeUndefined();
    }
  });

  it('property: undefined or a positive whole number of seconds, in milliseconds', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.integer(), fc.string()), (claim) => {
        const at = parseAuthTimeClaim(claim);
        if (at === undefined) return;
        expect(Number.isSafeInteger(at)).toBe(true);
        expect(at % 1000).toBe(0);
        expect(at).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('lands on the identity next to amr', () => {
    expect(
      identityFromClaims(
        { sub: 'alice', groups: '[dba]', amr: '[pwd mfa]', auth_time: '1795510000' },
        'groups',
      ),
    ).toEqual({
      subject: 'alice',
      groups: ['dba'],
      amr: ['pwd', 'mfa'],
      authTime: 1_795_510_000_000,
    });
  });
});

describe('requireFreshMfa', () => {
  const requirement = { maxAgeMinutes: 15 };
  const who = (amr: string[], authTime?: number) => ({
    subject: 'alice',
    groups: [],
    amr,
    ...(authTime !== undefined ? { authTime } : {}),
  });

  it('passes with a second factor used within the time', () => {
    for (const factor of ['mfa', 'otp', 'hwk', 'swk']) {
      expect(() =>
        requireFreshMfa(who(['pwd', factor], NOW - 15 * MINUTE), requirement, NOW, 'x'),
      ).not.toThrow();
    }
    expect(() => requireFreshMfa(who([]), undefined, NOW, 'x')).not.toThrow();
  });

  it('401s, telling to sign in again with MFA, for a password only, an old sign-in, or no time', () => {
    const cases = [
      [who(['pwd'], NOW), /your token shows no second factor/],
      [who(['pwd', 'mfa'], NOW - 16 * MINUTE), /you signed in 16 minutes ago/],
      [who(['mfa']), /does not say when you signed in/],
      [who(['mfa'], NOW + 10 * MINUTE), /does not say when you signed in/],
    ] as const;
    for (const [identity, message] of cases) {
      expect(() => requireFreshMfa(identity, requirement, NOW, "target 'payments'")).toThrow(
        UnauthorizedError,
      );
      expect(() => requireFreshMfa(identity, requirement, NOW, "target 'payments'")).toThrow(
        message,
      );
      expect(() => requireFreshMfa(identity, requirement, NOW, "target 'payments'")).toThrow(
        "sign in again with MFA and retry (target 'payments' needs a sign-in with a second factor within the last 15 minutes)",
      );
    }
    expect(hasSecondFactor(who(['pwd', 'kba', 'pin']))).toBe(false);
  });
});

describe('policy: break-glass, approval, MFA and notifications', () => {
  it('reads the new fields with their defaults', () => {
    const policy = parsePolicy(LIFECYCLE_POLICY_YAML, 'test');
    expect(policy.breakGlass).toEqual({
      groups: ['oncall'],
      maxDurationMinutes: 60,
      quota: 1,
      targets: ['prod-db', 'payments', 'demo'],
      requireMfa: { maxAgeMinutes: 15 },
      notify: ['granted', 'ended'],
    });
    const payments = policy.targets.find((target) => target.name === 'payments');
    expect(payments?.approval).toEqual({ approverGroups: ['leads'], timeoutMinutes: 15 });
    expect(payments?.requireMfa).toEqual({ maxAgeMinutes: 10 });
    expect(payments?.extensionHeadroomMinutes).toBe(0);
  });

  it.each([
    [
      'breakGlass:\n  groups: [oncall]\n  maxDurationMinutes: 60\n  quota: 1\n  targets: [nowhere]',
      'breakGlass.targets[0]: unknown target',
    ],
    ['breakGlass:\n  groups: []\n  maxDurationMinutes: 60\n  quota: 1', 'breakGlass.groups'],
    ['breakGlass:\n  groups: [oncall]\n  maxDurationMinutes: 60\n  quota: 0', 'breakGlass.quota'],
    [
      'breakGlass:\n  groups: [oncall]\n  maxDurationMinutes: 60\n  quota: 1\n  notify: [ended, ended]',
      'breakGlass.notify',
    ],
  ])('refuses %j naming the field', (block, field) => {
    const yaml = `${LIFECYCLE_POLICY_YAML.replace(/breakGlass:[\s\S]*?notify: \[granted, ended\]\n/, '')}\n${block}\n`;
    expect(() => parsePolicy(yaml, 'p')).toThrow(field);
  });

  it('refuses a bad approval or notify block on a target', () => {
    const bad = LIFECYCLE_POLICY_YAML.replace(
      'approval: { approverGroups: [leads], timeoutMinutes: 15 }',
      'approval: { approverGroups: [leads], timeoutMinutes: 0 }',
    );
    expect(() => parsePolicy(bad, 'p')).toThrow('targets[1].approval.timeoutMinutes');
    const notify = LIFECYCLE_POLICY_YAML.replace('notify: [expiring]', 'notify: [sometimes]');
    expect(() => parsePolicy(notify, 'p')).toThrow('targets[3].notify[0]');
  });
});
