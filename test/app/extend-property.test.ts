// The property the issue asks for: whatever approvers, owners, the scheduler and the reaper do,
// in whatever order and at whatever times, no session is READY past its maximum total duration.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approveSession, denySession } from '../../lib/app/approve-session.ts';
import { expireSession } from '../../lib/app/expire-session.ts';
import { extendSession } from '../../lib/app/extend-session.ts';
import { observeBastion } from '../../lib/app/observe-bastion.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { reap } from '../../lib/app/reap.ts';
import { revokeSession } from '../../lib/app/revoke-session.ts';
import { DrawbridgeError } from '../../lib/domain/errors.ts';
import { maxTotalMinutesFor } from '../../lib/domain/extension.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import { isLive, type Session } from '../../lib/domain/session.ts';
import { httpStatus } from '../../lib/http/error-status.ts';
import type { TestWorld } from '../support/fakes.ts';
import { testWorld } from '../support/fakes.ts';
import { proveReady } from '../support/readiness.ts';
import { LIFECYCLE_POLICY_YAML, MINUTE, open, person } from './break-glass-world.ts';

// Room for a few live sessions each, so that sequences reach approvals and extensions often.
const policy = parsePolicy(
  LIFECYCLE_POLICY_YAML.replace('activeSessionsPerUser: 1', 'activeSessionsPerUser: 3'),
  'property policy',
);

const PEOPLE = [
  { subject: 'alice', groups: ['dba', 'dev'] },
  { subject: 'bob', groups: ['dba', 'leads'] },
  { subject: 'carol', groups: ['oncall', 'dev'] },
  { subject: 'erin', groups: ['drawbridge-admins', 'leads'] },
] as const;
const TARGETS = ['prod-db', 'payments', 'demo', 'secrets'] as const;

type Step =
  | { kind: 'request'; who: number; target: number; breakGlass: boolean; minutes: number }
  | { kind: 'approve' | 'deny'; who: number; pick: number }
  | { kind: 'extend'; pick: number; by: number }
  | { kind: 'end' | 'provision' | 'expire'; pick: number }
  | { kind: 'advance'; minutes: number };

const who = fc.integer({ min: 0, max: PEOPLE.length - 1 });
/** who × target × break-glass combinations the test policy allows */
const ALLOWED = [
  { who: 0, target: 0, breakGlass: false },
  { who: 0, target: 1, breakGlass: false },
  { who: 1, target: 0, breakGlass: false },
  { who: 1, target: 1, breakGlass: false },
  { who: 0, target: 2, breakGlass: false },
  { who: 2, target: 2, breakGlass: false },
  { who: 2, target: 0, breakGlass: true },
  { who: 2, target: 1, breakGlass: true },
];
// Mostly the latest session (the one the last request made), sometimes an older one.
const pick = fc.oneof(
  { arbitrary: fc.constant(0), weight: 3 },
  { arbitrary: fc.nat({ max: 6 }), weight: 2 },
);
// Weighted towards what makes progress (small windows and extensions, provisioning), with
// enough out-of-bounds values that refusals are exercised too.
const minutes = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 45 }), weight: 4 },
  { arbitrary: fc.integer({ min: 1, max: 130 }), weight: 1 },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    // Mostly requests policy allows (so there are sessions to act on), sometimes any at all.
    arbitrary: fc
      .record({
        request: fc.oneof(
          { arbitrary: fc.constantFrom(...ALLOWED), weight: 4 },
          {
            arbitrary: fc.record({
              who,
              target: fc.integer({ min: 0, max: TARGETS.length - 1 }),
              breakGlass: fc.boolean(),
            }),
            weight: 1,
          },
        ),
        minutes,
      })
      .map(({ request, minutes: wanted }) => ({
        kind: 'request' as const,
        ...request,
        minutes: wanted,
      })),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('approve' as const, 'deny' as const),
      // mostly an approver (bob, erin), sometimes anyone
      who: fc.oneof({ arbitrary: fc.constantFrom(1, 3), weight: 3 }, { arbitrary: who, weight: 1 }),
      pick,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('extend' as const), pick, by: minutes }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('provision' as const), pick }), weight: 4 },
  {
    arbitrary: fc.record({ kind: fc.constantFrom('end' as const, 'expire' as const), pick }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      minutes: fc.integer({ min: 0, max: 90 }),
    }),
    weight: 2,
  },
);

const identity = (world: TestWorld, index: number) => {
  const p = PEOPLE[index % PEOPLE.length] ?? PEOPLE[0];
  return person(p.subject, [...p.groups], world.clock.now());
};

/** How often the interesting paths ran, so the property cannot pass by never reaching them. */
const reached = { extended: 0, approved: 0, ready: 0, expiredByReaper: 0 };

async function run(world: TestWorld, ids: string[], current: Step): Promise<void> {
  const chosen = (n: number) => ids[ids.length - 1 - (n % Math.max(ids.length, 1))] ?? 's-none';
  const ownerOf = async (id: string) => {
    const session = await world.store.get(id);
    return person(session?.owner ?? 'nobody', [...(session?.ownerGroups ?? [])], world.clock.now());
  };
  switch (current.kind) {
    case 'request': {
      const { session } = await open(world, identity(world, current.who), {
        target: TARGETS[current.target] ?? 'prod-db',
        durationMinutes: current.minutes,
        ...(current.breakGlass ? { breakGlass: true, incidentId: 'INC-7' } : {}),
      });
      ids.push(session.id);
      return;
    }
    case 'approve':
      await approveSession(world.deps, identity(world, current.who), chosen(current.pick));
      reached.approved += 1;
      return;
    case 'deny':
      await denySession(world.deps, identity(world, current.who), chosen(current.pick));
      return;
    case 'extend': {
      const id = chosen(current.pick);
      await extendSession(world.deps, await ownerOf(id), id, {
        byMinutes: current.by,
        reason: 'more',
      });
      reached.extended += 1;
      return;
    }
    case 'end': {
      const id = chosen(current.pick);
      await revokeSession(world.deps, await ownerOf(id), id);
      return;
    }
    case 'provision': {
      const id = chosen(current.pick);
      const provisioned = await provisionSession(world.deps, id);
      if (provisioned?.status !== 'PROVISIONING') return;
      for (const bastion of world.ec2.running.values()) bastion.state = 'running';
      await observeBastion(world.deps, provisioned, 'running');
      await proveReady(world.deps, id);
      return;
    }
    case 'expire':
      await expireSession(world.deps, chosen(current.pick));
      return;
    case 'advance':
      world.clock.advance(current.minutes * MINUTE);
      reached.expiredByReaper += (await reap(world.deps)).expired;
      return;
  }
}

function checkInvariants(world: TestWorld, terminal: Map<string, Session>, reapedAt?: number) {
  const live = new Map<string, number>();
  for (const session of world.store.sessions.values()) {
    const frozen = terminal.get(session.id);
    if (frozen) expect(session, 'a terminal session changed').toEqual(frozen);
    else if (!isLive(session.status)) terminal.set(session.id, structuredClone(session));
    if (isLive(session.status)) {
      const counter =
        session.quotaKind === 'break-glass' ? `${session.owner}#break-glass` : session.owner;
      live.set(counter, (live.get(counter) ?? 0) + 1);
    }
    if (session.status !== 'READY') continue;
    reached.ready += 1;
    const { readyAt, expiresAt } = session;
    expect(readyAt).toBeDefined();
    expect(expiresAt).toBeDefined();
    const max = maxTotalMinutesFor(world.deps.policy, session) ?? 0;
    // Never past its maximum total, never past the key's bound.
    expect((expiresAt ?? Infinity) - (readyAt ?? 0)).toBeLessThanOrEqual(max * MINUTE);
    expect(expiresAt ?? Infinity).toBeLessThanOrEqual(session.credentialExpiresAt);
    // And once the reaper has run, nothing is READY past its end.
    if (reapedAt !== undefined) expect(expiresAt ?? 0).toBeGreaterThan(reapedAt);
  }
  // Quota: every counter holds exactly the live sessions that took it.
  for (const [counter, count] of world.store.active) expect(count).toBe(live.get(counter) ?? 0);
}

describe('property: no sequence of events leaves a session READY past its maximum total', () => {
  it('holds after every step of random request/approve/deny/extend/end/expire/reap sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const world = testWorld(policy);
        const ids: string[] = [];
        const terminal = new Map<string, Session>();
        for (const current of steps) {
          try {
            await run(world, ids, current);
          } catch (error) {
            // Refusals (4xx) are part of the game; anything else is a bug.
            if (!(error instanceof DrawbridgeError) || httpStatus(error) >= 500) throw error;
          }
          checkInvariants(
            world,
            terminal,
            current.kind === 'advance' ? world.clock.now() : undefined,
          );
        }
      }),
      { numRuns: 600 },
    );
    expect(reached.extended).toBeGreaterThan(10);
    expect(reached.approved).toBeGreaterThan(3);
    expect(reached.ready).toBeGreaterThan(100);
    expect(reached.expiredByReaper).toBeGreaterThan(5);
  });
});
