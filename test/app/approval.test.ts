import { beforeEach, describe, expect, it } from 'vitest';
import { approveSession, denySession } from '../../lib/app/approve-session.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { reap } from '../../lib/app/reap.ts';
import { revokeSession } from '../../lib/app/revoke-session.ts';
import {
  ForbiddenError,
  IllegalTransitionError,
  NotFoundError,
  UnauthorizedError,
} from '../../lib/domain/errors.ts';
import type { TestWorld } from '../support/fakes.ts';
import { lifecycleWorld, MINUTE, open, person } from './break-glass-world.ts';

let world: TestWorld;
beforeEach(() => {
  world = lifecycleWorld();
});

const alice = () => person('alice', ['dba'], world.clock.now());
/** alice is an approver herself: she still may not approve her own request. */
const aliceTheLead = () => person('alice', ['dba', 'leads'], world.clock.now());
const bob = () => person('bob', ['leads'], world.clock.now());
const mallory = () => person('mallory', ['dba'], world.clock.now());

async function pending() {
  const { session } = await open(world, aliceTheLead(), { target: 'payments' });
  return session;
}

describe('a request to a target that requires approval', () => {
  it('waits in PENDING_APPROVAL, holding quota but launching nothing, and the approvers are told', async () => {
    const session = await pending();
    expect(session.status).toBe('PENDING_APPROVAL');
    expect(session.approval).toEqual({
      approverGroups: ['leads'],
      deadline: world.clock.now() + 15 * MINUTE,
    });
    expect(world.queue.queued).toEqual([]);
    expect(world.store.active.get('alice')).toBe(1);
    expect(world.notifier.sent.map((n) => [n.kind, n.sessionId])).toEqual([
      ['approval-requested', session.id],
    ]);
    expect(world.notifier.sent[0]?.nextSteps).toContain(
      `drawbridge approve ${session.id} --comment "..."`,
    );
  });

  it('cannot be approved by its requester, even one in the approver groups (403)', async () => {
    const session = await pending();
    await expect(approveSession(world.deps, aliceTheLead(), session.id)).rejects.toThrow(
      ForbiddenError,
    );
    await expect(approveSession(world.deps, aliceTheLead(), session.id)).rejects.toThrow(
      'you cannot approve or deny your own request',
    );
    await expect(denySession(world.deps, aliceTheLead(), session.id)).rejects.toThrow(
      ForbiddenError,
    );
    expect((await world.store.get(session.id))?.status).toBe('PENDING_APPROVAL');
  });

  it('is invisible (404) to someone who is neither owner, admin nor approver', async () => {
    const session = await pending();
    await expect(approveSession(world.deps, mallory(), session.id)).rejects.toThrow(NotFoundError);
    const admin = person('erin', ['drawbridge-admins'], world.clock.now());
    await expect(approveSession(world.deps, admin, session.id)).rejects.toThrow(
      'only members of leads may approve',
    );
  });

  it('is approved by an approver: provisioning starts, and the window is counted from approval', async () => {
    const session = await pending();
    world.clock.advance(7 * MINUTE);
    const approved = await approveSession(world.deps, bob(), session.id, 'go ahead');
    expect(approved.status).toBe('REQUESTED');
    expect(approved.approval).toMatchObject({
      decidedBy: 'bob',
      decidedAt: world.clock.now(),
      comment: 'go ahead',
    });
    // The deadline and the key's bound restart at approval, not at the request 7 minutes ago.
    expect(approved.provisioningDeadline).toBe(world.clock.now() + 10 * MINUTE);
    expect(approved.credentialExpiresAt).toBe(world.clock.now() + (10 + 30) * MINUTE);
    expect(world.queue.queued).toEqual([session.id]);
    const events = await world.store.listEvents(session.id);
    expect(events.at(-1)).toMatchObject({ type: 'approved', actor: 'bob', status: 'REQUESTED' });
    // From here it is an ordinary request.
    const provisioning = await provisionSession(world.deps, session.id);
    expect(provisioning?.status).toBe('PROVISIONING');
    expect(world.ec2.launched[0]?.session.id).toBe(session.id);
  });

  it('asks the approver for a fresh second factor when the target does', async () => {
    const session = await pending();
    const stale = person('bob', ['leads'], world.clock.now() - 11 * MINUTE);
    await expect(approveSession(world.deps, stale, session.id)).rejects.toThrow(UnauthorizedError);
  });

  it('is denied by an approver: ENDED (denied), quota given back, nothing launched', async () => {
    const session = await pending();
    const denied = await denySession(world.deps, bob(), session.id, 'not during the freeze');
    expect(denied).toMatchObject({
      status: 'ENDED',
      endReason: 'denied',
      failureReason: 'denied by bob: not during the freeze',
    });
    expect(world.store.active.get('alice')).toBe(0);
    expect(world.queue.queued).toEqual([]);
    await expect(approveSession(world.deps, bob(), session.id)).rejects.toThrow(
      IllegalTransitionError,
    );
  });

  it('times out: the reaper refuses it at the approval deadline and gives the quota back', async () => {
    const session = await pending();
    world.clock.advance(15 * MINUTE - 1);
    expect((await reap(world.deps)).approvalsExpired).toBe(0);
    world.clock.advance(1);
    const report = await reap(world.deps);
    expect(report.approvalsExpired).toBe(1);
    const expired = await world.store.get(session.id);
    expect(expired).toMatchObject({
      status: 'FAILED',
      failureReason: 'no approver answered within 15 minutes; request again if still needed',
    });
    expect(world.store.active.get('alice')).toBe(0);
    await expect(approveSession(world.deps, bob(), session.id)).rejects.toThrow(
      IllegalTransitionError,
    );
  });

  it('cannot be approved after its deadline even before the reaper ran', async () => {
    const session = await pending();
    world.clock.advance(16 * MINUTE);
    await expect(approveSession(world.deps, bob(), session.id)).rejects.toThrow(
      'the approval window closed',
    );
    expect(world.queue.queued).toEqual([]);
  });

  it('can be withdrawn by its requester while pending', async () => {
    const session = await pending();
    const ended = await revokeSession(world.deps, aliceTheLead(), session.id);
    expect(ended).toMatchObject({ status: 'ENDED', endReason: 'revoked' });
    expect(world.store.active.get('alice')).toBe(0);
  });

  it('needs the requester to have signed in with MFA recently, as the target says', async () => {
    const noMfa = person('alice', ['dba'], world.clock.now(), ['pwd']);
    await expect(open(world, noMfa, { target: 'payments' })).rejects.toThrow(
      /your token shows no second factor: sign in again with MFA/,
    );
    await expect(open(world, alice(), { target: 'payments' })).resolves.toBeDefined();
  });
});
