import { beforeEach, describe, expect, it } from 'vitest';
import { listApprovals } from '../../lib/app/approvals-queue.ts';
import { approveSession } from '../../lib/app/approve-session.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Identity } from '../../lib/domain/session.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { LIFECYCLE_POLICY_YAML, open, person } from './break-glass-world.ts';

// The lifecycle policy (payments waits for `leads`) and one more target whose approvers are
// another group, so the queue has something to leave out.
const POLICY = `${LIFECYCLE_POLICY_YAML}  - name: ledger
    mode: local
    host: 127.0.0.1
    port: 7778
    allowedGroups: [dba]
    defaultDurationMinutes: 30
    maxDurationMinutes: 60
    approval: { approverGroups: [finance], timeoutMinutes: 15 }
`;

let world: TestWorld;
beforeEach(() => {
  world = testWorld(parsePolicy(POLICY, 'approvals queue test policy'));
});

const who = (subject: string, groups: string[]): Identity =>
  person(subject, groups, world.clock.now());

async function ids(identity: Identity): Promise<string[]> {
  const page = await listApprovals(world.deps, identity, { limit: 100 });
  return page.items.map((session) => session.id).sort();
}

async function pendingFor(identity: Identity, target: string): Promise<string> {
  const { session } = await open(world, identity, { target });
  expect(session.status).toBe('PENDING_APPROVAL');
  return session.id;
}

describe('GET /approvals (the approver queue)', () => {
  it("lists the pending requests of the caller's approver groups, never their own", async () => {
    const aliceLead = who('alice', ['dba', 'leads']);
    const alices = await pendingFor(aliceLead, 'payments');
    const daves = await pendingFor(who('dave', ['dba']), 'payments');
    const bob = who('bob', ['leads']);

    expect(await ids(bob)).toEqual([alices, daves].sort());
    // alice approves for payments too, but her own request is not hers to decide.
    expect(await ids(aliceLead)).toEqual([daves]);
  });

  it('leaves out targets other groups approve, and what no longer waits', async () => {
    const ledger = await pendingFor(who('mallory', ['dba']), 'ledger');
    const payments = await pendingFor(who('dave', ['dba']), 'payments');
    const demo = await open(world, who('carl', ['dev']), { target: 'demo' });
    expect(demo.session.status).toBe('REQUESTED');

    expect(await ids(who('bob', ['leads']))).toEqual([payments]);
    expect(await ids(who('fiona', ['finance']))).toEqual([ledger]);
    // Being an admin does not make one an approver: admins are not in this queue by rank.
    expect(await ids(who('erin', ['drawbridge-admins']))).toEqual([]);

    await approveSession(world.deps, who('bob', ['leads']), payments);
    expect(await ids(who('bob', ['leads']))).toEqual([]);
  });

  it('pages with the store cursor, keeping only what waits for the caller', async () => {
    const requested = [];
    for (const name of ['d1', 'd2', 'd3']) {
      requested.push(await pendingFor(who(name, ['dba']), 'payments'));
      requested.push(await pendingFor(who(`${name}-l`, ['dba']), 'ledger'));
      world.clock.advance(1_000);
    }
    const bob = who('bob', ['leads']);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listApprovals(world.deps, bob, {
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((session) => session.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen.sort()).toEqual([requested[0], requested[2], requested[4]].sort());
  });
});
