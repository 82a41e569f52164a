import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  closeReview,
  decideBreakGlass,
  INCIDENT_ID_PATTERN,
  MAX_INCIDENT_ID_LENGTH,
  openReview,
  parseIncidentId,
  type Review,
} from '../../lib/domain/break-glass.ts';
import {
  ConflictError,
  ForbiddenError,
  UnauthorizedError,
  ValidationError,
} from '../../lib/domain/errors.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Identity } from '../../lib/domain/session.ts';
import { LIFECYCLE_POLICY_YAML } from '../app/break-glass-world.ts';
import { makeSession } from '../support/sessions.ts';

const policy = parsePolicy(LIFECYCLE_POLICY_YAML, 'test');
const NOW = Date.UTC(2026, 10, 24, 9, 0, 0);
const MINUTE = 60_000;
const oncall: Identity = { subject: 'carol', groups: ['oncall'], amr: ['mfa'], authTime: NOW };
const request = { target: 'prod-db', sourceIp: '203.0.113.9', incidentId: 'INC-1' };

describe('parseIncidentId', () => {
  it.each([
    ['INC-123', 'INC-123'],
    ['inc-123', 'INC-123'],
    [' SEC-2026-0042 ', 'SEC-2026-0042'],
    ['PD-Q1ABC2', 'PD-Q1ABC2'],
  ])('accepts %j as %j', (input, expected) => {
    expect(parseIncidentId(input)).toBe(expected);
  });

  it.each([
    '',
    'INC',
    'INC-',
    '123',
    '-123',
    'I-1',
    'INC 123',
    'INC-12;rm',
    'INC-<!channel>',
    'INC-1-2-3-4',
    `INC-${'1'.repeat(60)}`,
  ])('refuses %j with a 400 that shows the form', (input) => {
    expect(() => parseIncidentId(input)).toThrow(ValidationError);
    expect(() => parseIncidentId(input)).toThrow(/like INC-123/);
  });

  it('property: any string is refused or becomes a short, plain, upper-case id', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,20}-[\w-]{0,40}$/)),
        (input) => {
          let id: string;
          try {
            id = parseIncidentId(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            return;
          }
          expect(id.length).toBeLessThanOrEqual(MAX_INCIDENT_ID_LENGTH);
          expect(id).toMatch(INCIDENT_ID_PATTERN);
          expect(id).toMatch(/^[A-Z0-9-]+$/);
          expect(id).toBe(input.trim().toUpperCase());
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('decideBreakGlass', () => {
  it('lets a break-glass member open a target their groups could not, capped by the shorter maximum', () => {
    const decision = decideBreakGlass(policy, oncall, { ...request, durationMinutes: 45 }, NOW);
    expect(decision).toMatchObject({
      mode: 'ec2',
      durationMinutes: 45,
      maxMinutes: 60,
      incidentId: 'INC-1',
    });
    expect(decision.target.name).toBe('prod-db');
  });

  it("still holds the target's own, stricter MFA rule: break-glass skips approval, not the second factor", () => {
    // payments: requireMfa 10 minutes; break-glass: 15 minutes. A 12-minute-old sign-in passes
    // the break-glass rule and must still be refused for payments.
    const twelveMinutesAgo: Identity = { ...oncall, authTime: NOW - 12 * MINUTE };
    expect(() =>
      decideBreakGlass(policy, twelveMinutesAgo, { ...request, target: 'payments' }, NOW),
    ).toThrow(UnauthorizedError);
    expect(decideBreakGlass(policy, twelveMinutesAgo, request, NOW).target.name).toBe('prod-db');
    expect(
      decideBreakGlass(policy, oncall, { ...request, target: 'payments' }, NOW).target.name,
    ).toBe('payments');
  });

  it('defaults to the target default within the break-glass maximum', () => {
    expect(decideBreakGlass(policy, oncall, request, NOW).durationMinutes).toBe(30);
  });

  it('refuses non-members first, without saying anything about targets', () => {
    const dba: Identity = { ...oncall, groups: ['dba'] };
    expect(() => decideBreakGlass(policy, dba, { ...request, target: 'nope' }, NOW)).toThrow(
      ForbiddenError,
    );
  });

  it('refuses when the policy has no break-glass at all', () => {
    const without = parsePolicy(
      LIFECYCLE_POLICY_YAML.replace(/breakGlass:[\s\S]*?notify: \[granted, ended\]\n/, ''),
      'no break-glass',
    );
    expect(without.breakGlass).toBeUndefined();
    expect(() => decideBreakGlass(without, oncall, request, NOW)).toThrow(
      'this deployment has no break-glass access',
    );
  });

  it('keeps the MFA requirement and the incident id rules', () => {
    expect(() =>
      decideBreakGlass(policy, { ...oncall, authTime: NOW - 20 * MINUTE }, request, NOW),
    ).toThrow(UnauthorizedError);
    expect(() => decideBreakGlass(policy, oncall, { ...request, incidentId: 'x' }, NOW)).toThrow(
      ValidationError,
    );
    expect(() =>
      decideBreakGlass(policy, oncall, { ...request, durationMinutes: 61 }, NOW),
    ).toThrow('exceeds the break-glass maximum of 60');
  });
});

describe('reviews', () => {
  const session = makeSession({ breakGlass: true, incidentId: 'INC-9', owner: 'carol' });
  const review: Review = openReview(session);

  it('opens with the facts a reviewer needs', () => {
    expect(review).toMatchObject({
      sessionId: session.id,
      requester: 'carol',
      incidentId: 'INC-9',
      status: 'open',
    });
    expect(() => openReview(makeSession())).toThrow('only break-glass sessions are reviewed');
  });

  it('closes once, never by the responder', () => {
    const decision = { verdict: 'appropriate' as const, comment: 'ok' };
    expect(() => closeReview(review, decision, 'carol', NOW)).toThrow(ForbiddenError);
    const closed = closeReview(review, decision, 'erin', NOW);
    expect(closed).toMatchObject({ status: 'reviewed', reviewedBy: 'erin', reviewedAt: NOW });
    expect(() => closeReview(closed, decision, 'frank', NOW)).toThrow(ConflictError);
    expect(review.status).toBe('open');
  });
});
