import { beforeEach, describe, expect, it } from 'vitest';
import { approveSession } from '../../lib/app/approve-session.ts';
import { expireSession } from '../../lib/app/expire-session.ts';
import { extendSession } from '../../lib/app/extend-session.ts';
import { observeBastion } from '../../lib/app/observe-bastion.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { reap } from '../../lib/app/reap.ts';
import type { SessionRequest } from '../../lib/app/request-session.ts';
import { sshExpiryTime } from '../../lib/domain/durations.ts';
import {
  ConflictError,
  ForbiddenError,
  IllegalTransitionError,
  NotFoundError,
  ValidationError,
} from '../../lib/domain/errors.ts';
import type { Identity, Session } from '../../lib/domain/session.ts';
import type { TestWorld } from '../support/fakes.ts';
import { proveReady } from '../support/readiness.ts';
import { lifecycleWorld, MINUTE, open, person } from './break-glass-world.ts';

let world: TestWorld;
beforeEach(() => {
  world = lifecycleWorld();
});

const alice = () => person('alice', ['dba', 'dev'], world.clock.now());
const more = (byMinutes: number) => ({ byMinutes, reason: 'migration still running' });

/** Requested now, READY two minutes later (ec2 waits for the instance; local is at once). */
async function ready(
  identity: Identity,
  overrides: Partial<SessionRequest> = {},
): Promise<Session> {
  const { session } = await open(world, identity, overrides);
  world.clock.advance(2 * MINUTE);
  const provisioned = await provisionSession(world.deps, session.id);
  if (provisioned?.status === 'READY') return provisioned;
  for (const bastion of world.ec2.running.values()) bastion.state = 'running';
  const stored = await world.store.get(session.id);
  if (!stored) throw new Error('session vanished');
  await observeBastion(world.deps, stored, 'running');
  return proveReady(world.deps, session.id);
}

describe('extending an ec2 session (the key cannot be rewritten on the bastion)', () => {
  it('moves expiresAt and the schedule, within the key bound written at launch', async () => {
    const session = await ready(alice());
    expect(session.status).toBe('READY');
    // Requested 30m with 30m headroom: the key was written for deadline + 60m.
    expect(session.credentialExpiresAt).toBe(session.createdAt + (10 + 60) * MINUTE);
    const launch = world.ec2.launched[0];
    expect(launch?.authorizedKey).toContain(
      `expiry-time="${sshExpiryTime(session.credentialExpiresAt)}"`,
    );

    const { session: extended, notices } = await extendSession(
      world.deps,
      alice(),
      session.id,
      more(15),
    );
    expect(notices).toEqual([]);
    expect(extended.expiresAt).toBe((session.expiresAt ?? 0) + 15 * MINUTE);
    expect(extended.durationMinutes).toBe(45);
    expect(extended.extendedMinutes).toBe(15);
    // Layer 2 moved with it.
    expect(world.scheduler.schedules.get(session.id)).toBe(extended.expiresAt);
    // Layers 1 and 4 did not need to: the key and the self-destruct already lie beyond it.
    expect(extended.credentialExpiresAt).toBe(session.credentialExpiresAt);
    expect(launch?.selfDestructAt).toBe(session.credentialExpiresAt + 5 * MINUTE);
    expect((extended.expiresAt ?? Infinity) + 5 * MINUTE).toBeLessThanOrEqual(
      launch?.selfDestructAt ?? 0,
    );
    const events = await world.store.listEvents(session.id);
    expect(events.at(-1)).toMatchObject({
      type: 'extended',
      actor: 'alice',
      detail: { byMinutes: 15, reason: 'migration still running' },
    });
  });

  it('refuses to go past the key bound (409), saying how much is left', async () => {
    const session = await ready(alice());
    // READY at +2m, expires at +32m; the key stops at +70m: 38 minutes are left.
    await expect(extendSession(world.deps, alice(), session.id, more(39))).rejects.toThrow(
      ConflictError,
    );
    await expect(extendSession(world.deps, alice(), session.id, more(39))).rejects.toThrow(
      /at most 38 more minutes: request a new session/,
    );
    const { session: extended } = await extendSession(world.deps, alice(), session.id, more(38));
    expect(extended.expiresAt).toBe(session.credentialExpiresAt);
  });

  it('refuses to go past the target maximum (400), whatever the key would allow', async () => {
    const session = await ready(alice());
    await expect(extendSession(world.deps, alice(), session.id, more(91))).rejects.toThrow(
      ValidationError,
    );
    await expect(extendSession(world.deps, alice(), session.id, more(91))).rejects.toThrow(
      'would pass the maximum of 120 minutes',
    );
    const stored = await world.store.get(session.id);
    expect(stored?.expiresAt).toBe(session.expiresAt);
    expect(world.scheduler.schedules.get(session.id)).toBe(session.expiresAt);
  });

  it('leaves the old schedule harmless: firing at the old end does nothing, the new end ends it', async () => {
    const session = await ready(alice());
    const { session: extended } = await extendSession(world.deps, alice(), session.id, more(10));
    world.clock.current = session.expiresAt ?? 0;
    expect((await expireSession(world.deps, session.id))?.status).toBe('READY');
    world.clock.current = extended.expiresAt ?? 0;
    expect((await expireSession(world.deps, session.id))?.status).toBe('ENDED');
  });
});

describe('extending a local session (the key file can be rewritten)', () => {
  it('rewrites the key with the new bound and moves the self-destruct bound with it', async () => {
    const session = await ready(alice(), { target: 'demo' });
    // No headroom on demo: the key's bound is the requested window.
    expect(session.credentialExpiresAt).toBe(session.createdAt + (10 + 30) * MINUTE);
    const { session: extended } = await extendSession(world.deps, alice(), session.id, more(25));
    const newEnd = (session.expiresAt ?? 0) + 25 * MINUTE;
    expect(extended.expiresAt).toBe(newEnd);
    expect(extended.credentialExpiresAt).toBe(Math.max(session.credentialExpiresAt, newEnd));
    expect(world.local.extended).toHaveLength(1);
    const plan = world.local.extended[0];
    expect(plan?.authorizedKey).toContain(
      `expiry-time="${sshExpiryTime(extended.credentialExpiresAt)}"`,
    );
    expect(plan?.selfDestructAt).toBe(extended.credentialExpiresAt + 5 * MINUTE);
    expect(world.scheduler.schedules.get(session.id)).toBe(newEnd);
  });

  it('still stops at the target maximum', async () => {
    const session = await ready(alice(), { target: 'demo' });
    await expect(extendSession(world.deps, alice(), session.id, more(31))).rejects.toThrow(
      'would pass the maximum of 60 minutes',
    );
    expect(world.local.extended).toEqual([]);
  });

  it('says so, and fails safe, when the key cannot be rewritten', async () => {
    const session = await ready(alice(), { target: 'demo' });
    world.local.failExtend = new Error('disk full');
    const { session: extended, notices } = await extendSession(
      world.deps,
      alice(),
      session.id,
      more(20),
    );
    expect(extended.expiresAt).toBe((session.expiresAt ?? 0) + 20 * MINUTE);
    expect(notices).toEqual([
      expect.stringContaining(
        "the bastion's key could not be updated: new connections are refused after",
      ),
    ]);
  });
});

describe('who may extend what', () => {
  it('only the owner (an admin is refused, a stranger sees 404)', async () => {
    const session = await ready(alice());
    const admin = person('erin', ['drawbridge-admins'], world.clock.now());
    await expect(extendSession(world.deps, admin, session.id, more(5))).rejects.toThrow(
      ForbiddenError,
    );
    const stranger = person('mallory', ['dba'], world.clock.now());
    await expect(extendSession(world.deps, stranger, session.id, more(5))).rejects.toThrow(
      NotFoundError,
    );
  });

  it('only READY sessions', async () => {
    const { session } = await open(world, alice());
    await expect(extendSession(world.deps, alice(), session.id, more(5))).rejects.toThrow(
      IllegalTransitionError,
    );
  });

  it('not a target that needs approval: 409, request a new session', async () => {
    const requester = person('alice', ['dba'], world.clock.now());
    const { session } = await open(world, requester, { target: 'payments' });
    await approveSession(world.deps, person('bob', ['leads'], world.clock.now()), session.id);
    const readied = await (async () => {
      world.clock.advance(MINUTE);
      await provisionSession(world.deps, session.id);
      for (const bastion of world.ec2.running.values()) bastion.state = 'running';
      const stored = await world.store.get(session.id);
      if (!stored) throw new Error('gone');
      await observeBastion(world.deps, stored, 'running');
      return proveReady(world.deps, session.id);
    })();
    expect(readied.status).toBe('READY');
    await expect(
      extendSession(world.deps, person('alice', ['dba'], world.clock.now()), session.id, more(5)),
    ).rejects.toThrow('extensions of this target need approval: request a new session');
  });

  it('a break-glass session within the break-glass maximum', async () => {
    const carol = () => person('carol', ['oncall'], world.clock.now());
    const session = await ready(carol(), { breakGlass: true, incidentId: 'INC-9' });
    await expect(extendSession(world.deps, carol(), session.id, more(31))).rejects.toThrow(
      'would pass the maximum of 60 minutes',
    );
    const { session: extended } = await extendSession(world.deps, carol(), session.id, more(30));
    expect((extended.expiresAt ?? 0) - (extended.readyAt ?? 0)).toBe(60 * MINUTE);
  });
});

describe('notices for ordinary sessions', () => {
  it('granted at READY, expiring five minutes before the end (once), ended after', async () => {
    const session = await ready(alice());
    expect(world.notifier.sent.map((n) => n.kind)).toEqual(['granted']);
    const end = session.expiresAt ?? 0;
    expect(session.expiryWarningAt).toBe(end - 5 * MINUTE);

    world.clock.current = end - 5 * MINUTE - 1;
    await reap(world.deps);
    expect(world.notifier.sent.map((n) => n.kind)).toEqual(['granted']);
    world.clock.current = end - 5 * MINUTE;
    expect((await reap(world.deps)).expiryNotices).toBe(1);
    await reap(world.deps);
    expect(world.notifier.sent.map((n) => n.kind)).toEqual(['granted', 'expiring']);
    expect(world.notifier.sent[1]?.title).toBe('Expiring in 5 min: alice on prod-db');
    expect((await world.store.get(session.id))?.status).toBe('READY');

    // An extension owes a new notice before the new end.
    const { session: extended } = await extendSession(world.deps, alice(), session.id, more(10));
    world.clock.current = (extended.expiresAt ?? 0) - 5 * MINUTE;
    await reap(world.deps);
    world.clock.current = extended.expiresAt ?? 0;
    await reap(world.deps);
    expect(world.notifier.sent.map((n) => n.kind)).toEqual([
      'granted',
      'expiring',
      'expiring',
      'ended',
    ]);
    expect((await world.store.get(session.id))?.status).toBe('ENDED');
  });

  it('only what the target asked for (demo: expiring only)', async () => {
    const session = await ready(alice(), { target: 'demo' });
    world.clock.current = session.expiresAt ?? 0;
    await reap(world.deps);
    expect(world.notifier.sent.map((n) => n.kind)).toEqual([]);
  });
});
