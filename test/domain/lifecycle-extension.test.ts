import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approvedTimes, assertMayDecide } from '../../lib/domain/approval.ts';
import {
  ConflictError,
  ForbiddenError,
  IllegalTransitionError,
  ValidationError,
} from '../../lib/domain/errors.ts';
import {
  credentialWindowMinutes,
  EXPIRY_WARNING_MINUTES,
  planExtension,
} from '../../lib/domain/extension.ts';
import { transition } from '../../lib/domain/lifecycle.ts';
import { findTarget } from '../../lib/domain/policy.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Session } from '../../lib/domain/session.ts';
import { LIFECYCLE_POLICY_YAML } from '../app/break-glass-world.ts';
import { makeSession } from '../support/sessions.ts';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);
const policy = parsePolicy(LIFECYCLE_POLICY_YAML, 'test');

/** READY at T0 for 30 minutes, key bound at T0 + 60m. */
function readySession(overrides: Partial<Session> = {}): Session {
  return makeSession({
    status: 'READY',
    createdAt: T0 - 2 * MINUTE,
    readyAt: T0,
    expiresAt: T0 + 30 * MINUTE,
    credentialExpiresAt: T0 + 60 * MINUTE,
    ...overrides,
  });
}

describe('credentialWindowMinutes (the key bound written at launch)', () => {
  it('adds the headroom, but never past the maximum nor below the duration', () => {
    expect(credentialWindowMinutes({ extensionHeadroomMinutes: 30 }, 30, 120)).toBe(60);
    expect(credentialWindowMinutes({ extensionHeadroomMinutes: 30 }, 100, 120)).toBe(120);
    expect(credentialWindowMinutes({ extensionHeadroomMinutes: 0 }, 30, 120)).toBe(30);
  });

  it('property: duration ≤ window ≤ max(duration, maximum), and ≤ duration + headroom', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1440 }),
        fc.integer({ min: 1, max: 1440 }),
        fc.integer({ min: 1, max: 1440 }),
        (headroom, duration, max) => {
          const window = credentialWindowMinutes(
            { extensionHeadroomMinutes: headroom },
            duration,
            max,
          );
          expect(window).toBeGreaterThanOrEqual(duration);
          expect(window).toBeLessThanOrEqual(Math.max(duration, max));
          expect(window).toBeLessThanOrEqual(duration + headroom);
        },
      ),
    );
  });
});

describe('planExtension', () => {
  const plan = (session: Session, byMinutes: number, canRewriteKey = false, now = T0 + MINUTE) =>
    planExtension(session, { byMinutes, maxTotalMinutes: 120, canRewriteKey, now });

  it('moves the end by exactly the extension, keeping the key bound on ec2', () => {
    expect(plan(readySession(), 20)).toEqual({
      expiresAt: T0 + 50 * MINUTE,
      durationMinutes: 50,
      extendedMinutes: 20,
      credentialExpiresAt: T0 + 60 * MINUTE,
    });
  });

  it('refuses past the key bound when the key cannot be rewritten (409, with what is left)', () => {
    expect(() => plan(readySession(), 31)).toThrow(ConflictError);
    expect(() => plan(readySession(), 31)).toThrow('at most 30 more minutes');
    expect(() => plan(readySession({ expiresAt: T0 + 60 * MINUTE }), 1)).toThrow(
      'no extension is possible',
    );
  });

  it('moves the key bound with the window where the key can be rewritten', () => {
    expect(plan(readySession(), 60, true).credentialExpiresAt).toBe(T0 + 90 * MINUTE);
  });

  it('refuses past the maximum total (400), whatever the key allows', () => {
    expect(() => plan(readySession(), 91, true)).toThrow(ValidationError);
    expect(() => plan(readySession(), 91, true)).toThrow('at most 90 more');
    expect(() => plan(readySession({ expiresAt: T0 + 120 * MINUTE }), 1, true)).toThrow(
      'already has the maximum of 120 minutes',
    );
  });

  it('refuses a window that has ended, a session never READY, and nonsense amounts', () => {
    expect(() => plan(readySession(), 5, false, T0 + 30 * MINUTE)).toThrow(IllegalTransitionError);
    expect(() => plan(makeSession(), 5)).toThrow(IllegalTransitionError);
    for (const amount of [0, -5, 1.5, Number.NaN, 1441]) {
      expect(() => plan(readySession(), amount)).toThrow(ValidationError);
    }
  });

  it('owes a new "expiring" notice before the new end when the session asked for them', () => {
    const session = readySession({ notify: ['expiring'] });
    expect(plan(session, 10).expiryWarningAt).toBe(T0 + (40 - EXPIRY_WARNING_MINUTES) * MINUTE);
    expect(plan(readySession(), 10).expiryWarningAt).toBeUndefined();
  });

  it('property: never past READY + maximum, never past the bound it may not move', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: -10, max: 2000 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 150 }),
        (window, headroom, byMinutes, canRewriteKey, elapsed) => {
          const session = readySession({
            expiresAt: T0 + window * MINUTE,
            credentialExpiresAt: T0 + (window + headroom) * MINUTE,
          });
          let planned: ReturnType<typeof planExtension>;
          try {
            planned = planExtension(session, {
              byMinutes,
              maxTotalMinutes: 120,
              canRewriteKey,
              now: T0 + elapsed * MINUTE,
            });
          } catch (error) {
            expect(
              error instanceof ValidationError ||
                error instanceof ConflictError ||
                error instanceof IllegalTransitionError,
            ).toBe(true);
            return;
          }
          const end = planned.expiresAt ?? 0;
          expect(end).toBe(T0 + (window + byMinutes) * MINUTE);
          expect(end).toBeLessThanOrEqual(T0 + 120 * MINUTE);
          expect(end).toBeLessThanOrEqual(planned.credentialExpiresAt);
          if (!canRewriteKey) expect(planned.credentialExpiresAt).toBe(session.credentialExpiresAt);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('approve and deny transitions', () => {
  const pending = (overrides: Partial<Session> = {}) =>
    makeSession({
      status: 'PENDING_APPROVAL',
      owner: 'alice',
      createdAt: T0,
      approval: { approverGroups: ['leads'], deadline: T0 + 15 * MINUTE },
      ...overrides,
    });
  const times = { provisioningDeadline: T0 + 20 * MINUTE, credentialExpiresAt: T0 + 50 * MINUTE };

  it('approve: REQUESTED with the new deadlines and who decided', () => {
    const approved = transition(
      pending(),
      { type: 'approve', by: 'bob', comment: 'ok', ...times },
      T0 + 10 * MINUTE,
    );
    expect(approved).toMatchObject({
      status: 'REQUESTED',
      ...times,
      approval: { decidedBy: 'bob', decidedAt: T0 + 10 * MINUTE, comment: 'ok' },
    });
  });

  it('never by the requester, never after the deadline', () => {
    expect(() =>
      transition(pending(), { type: 'approve', by: 'alice', ...times }, T0 + MINUTE),
    ).toThrow(ForbiddenError);
    expect(() => transition(pending(), { type: 'deny', by: 'alice' }, T0 + MINUTE)).toThrow(
      ForbiddenError,
    );
    expect(() =>
      transition(pending(), { type: 'approve', by: 'bob', ...times }, T0 + 16 * MINUTE),
    ).toThrow('the approval window closed');
  });

  it('deny: ENDED (denied) at once, with the reason', () => {
    expect(
      transition(pending(), { type: 'deny', by: 'bob', comment: 'no' }, T0 + MINUTE),
    ).toMatchObject({
      status: 'ENDED',
      endReason: 'denied',
      endedAt: T0 + MINUTE,
      failureReason: 'denied by bob: no',
    });
  });

  it('assertMayDecide: approver groups of the target, not the requester', () => {
    const target = findTarget(policy, 'payments');
    const bob = { subject: 'bob', groups: ['leads'] };
    expect(() => assertMayDecide(pending({ target: 'payments' }), bob, target)).not.toThrow();
    expect(() =>
      assertMayDecide(pending({ target: 'payments' }), { subject: 'bob', groups: ['dba'] }, target),
    ).toThrow('only members of leads');
    expect(() =>
      assertMayDecide(pending(), { subject: 'alice', groups: ['leads'] }, target),
    ).toThrow('your own request');
    expect(() => assertMayDecide(makeSession(), bob, target)).toThrow(IllegalTransitionError);
  });

  it('approvedTimes: the deadline and the key bound count from the approval', () => {
    const target = findTarget(policy, 'prod-db');
    if (!target) throw new Error('no target');
    const now = T0 + 7 * MINUTE;
    expect(approvedTimes(policy, target, pending({ durationMinutes: 30 }), now)).toEqual({
      provisioningDeadline: now + 10 * MINUTE,
      credentialExpiresAt: now + (10 + 60) * MINUTE,
    });
  });
});

describe('the expiring notice', () => {
  it('is owed from READY when asked for and the window is longer than the warning', () => {
    const provisioning = makeSession({
      status: 'PROVISIONING',
      notify: ['expiring'],
      createdAt: T0,
      durationMinutes: 30,
    });
    const connection = { bastionHost: '198.51.100.7', bastionPort: 22, linuxUser: 'u' };
    const ready = transition(provisioning, { type: 'ready', connection }, T0 + MINUTE);
    expect(ready.expiryWarningAt).toBe(T0 + 26 * MINUTE);
    const warned = transition(ready, { type: 'warn' }, T0 + 26 * MINUTE);
    expect(warned.expiryWarningAt).toBeUndefined();
    expect(warned.status).toBe('READY');
    const short = transition(
      { ...provisioning, durationMinutes: 5 },
      { type: 'ready', connection },
      T0 + MINUTE,
    );
    expect(short.expiryWarningAt).toBeUndefined();
  });
});
