import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../../lib/domain/errors.ts';
import { issueHostKey } from '../../lib/domain/host-key.ts';
import {
  canTransition,
  type LifecycleEvent,
  type LifecycleEventType,
  MAX_FAILURE_REASON_LENGTH,
  TRANSITIONS,
  transition,
} from '../../lib/domain/lifecycle.ts';
import {
  type Connection,
  EndReason,
  isTerminal,
  type Session,
  SessionStatus,
} from '../../lib/domain/session.ts';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);

const connection: Connection = {
  bastionHost: '198.51.100.7',
  bastionPort: 22,
  linuxUser: 'db-abc',
};

function makeSession(overrides: Partial<Session> = {}): Session {
  return {
    id: 's-0123456789abcdefghjk',
    owner: 'alice',
    ownerGroups: ['dba'],
    sourceIp: '203.0.113.9',
    sourceCidr: '203.0.113.9/32',
    target: 'prod-db',
    mode: 'ec2',
    reason: 'investigate slow query',
    publicKey: 'ssh-ed25519 AAAA',
    durationMinutes: 30,
    linuxUser: 'db-0123456789ab',
    status: SessionStatus.REQUESTED,
    version: 1,
    createdAt: T0,
    updatedAt: T0,
    provisioningDeadline: T0 + 10 * MINUTE,
    credentialExpiresAt: T0 + 45 * MINUTE,
    // Read only by the events that need them (approve/deny, extend); the rest ignore them.
    approval: { approverGroups: ['leads'], deadline: T0 + 60 * MINUTE },
    readyAt: T0,
    expiresAt: T0 + 30 * MINUTE,
    resources: {},
    auditSeq: 1,
    auditHead: 'f'.repeat(64),
    ...overrides,
  };
}

const EVENTS: Record<LifecycleEventType, LifecycleEvent> = {
  provision: { type: 'provision', resources: { instanceType: 't4g.nano' } },
  attach: { type: 'attach', resources: { instanceId: 'i-0abc' } },
  running: { type: 'running' },
  ready: { type: 'ready', connection },
  end: { type: 'end', reason: 'revoked' },
  ended: { type: 'ended' },
  fail: { type: 'fail', reason: 'no capacity' },
  approve: {
    type: 'approve',
    by: 'bob',
    provisioningDeadline: T0 + 12 * MINUTE,
    credentialExpiresAt: T0 + 42 * MINUTE,
  },
  deny: { type: 'deny', by: 'bob', comment: 'not during the freeze' },
  extend: { type: 'extend', byMinutes: 10, maxTotalMinutes: 120, canRewriteKey: false },
  warn: { type: 'warn' },
  grant: { type: 'grant' },
  note: { type: 'note' },
  'seal-recording': { type: 'seal-recording', recordingHead: { seq: 3, hash: 'b'.repeat(64) } },
  'recording-read-progress': {
    type: 'recording-read-progress',
    read: { seq: 9, hash: 'c'.repeat(64), at: T0, chunks: 9, open: ['c1'] },
    checkAt: T0 + 3 * MINUTE,
  },
};

const { REQUESTED, PENDING_APPROVAL, PROVISIONING, READY, ENDING, ENDED, FAILED } = SessionStatus;
const SETTLE = { checkAt: T0 + 41 * MINUTE, deadline: T0 + 46 * MINUTE };

/** The whole table, written out independently of TRANSITIONS: the status each legal pair leads to. */
const EXPECTED: Record<SessionStatus, Partial<Record<LifecycleEventType, SessionStatus>>> = {
  REQUESTED: { provision: PROVISIONING, end: ENDING, fail: FAILED, note: REQUESTED },
  PENDING_APPROVAL: {
    approve: REQUESTED,
    deny: ENDED,
    end: ENDING,
    fail: FAILED,
    note: PENDING_APPROVAL,
  },
  PROVISIONING: {
    attach: PROVISIONING,
    running: PROVISIONING,
    ready: READY,
    end: ENDING,
    fail: FAILED,
    note: PROVISIONING,
  },
  READY: { end: ENDING, fail: FAILED, extend: READY, warn: READY, grant: READY, note: READY },
  ENDING: { ended: ENDED, fail: FAILED, note: ENDING },
  ENDED: { note: ENDED, 'seal-recording': ENDED, 'recording-read-progress': ENDED },
  FAILED: { note: FAILED },
};

const ALL_STATUSES = Object.values(SessionStatus);
const ALL_EVENT_TYPES = Object.keys(EVENTS) as LifecycleEventType[];
const pairs = ALL_STATUSES.flatMap((status) =>
  ALL_EVENT_TYPES.map((type) => ({ status, type, to: EXPECTED[status][type] })),
);

describe('transition table: every status × event pair', () => {
  it('covers every pair (7 statuses × 15 events) and agrees with TRANSITIONS / canTransition', () => {
    expect(ALL_STATUSES).toHaveLength(7);
    expect(ALL_EVENT_TYPES).toHaveLength(15);
    expect(pairs).toHaveLength(105);
    for (const { status, type, to } of pairs) {
      expect(canTransition(status, type), `${status} × ${type}`).toBe(to !== undefined);
      expect(TRANSITIONS[type].from.includes(status)).toBe(to !== undefined);
    }
  });

  const legal = pairs.filter((pair) => pair.to !== undefined);
  const illegal = pairs.filter((pair) => pair.to === undefined);

  it.each(legal)('$status × $type → $to, version + 1, updatedAt = now', ({ status, type, to }) => {
    // A recording is sealed only while it is settling.
    const settling =
      type === 'seal-recording' || type === 'recording-read-progress'
        ? { recordingSettle: SETTLE }
        : {};
    const session = makeSession({ status, version: 7, ...settling });
    const now = T0 + 2 * MINUTE;
    const next = transition(session, EVENTS[type], now);
    expect(next.status).toBe(to);
    expect(next.version).toBe(8);
    expect(next.updatedAt).toBe(now);
    expect(next.id).toBe(session.id);
    expect(next.owner).toBe(session.owner);
  });

  it.each(illegal)(
    '$status × $type is refused and leaves the session untouched',
    ({ status, type }) => {
      const session = makeSession({ status, version: 7 });
      const before = structuredClone(session);
      expect(() => transition(session, EVENTS[type], T0 + MINUTE)).toThrow(IllegalTransitionError);
      expect(() => transition(session, EVENTS[type], T0 + MINUTE)).toThrow(
        new RegExp(`${status}.*'${type}'`),
      );
      expect(session).toEqual(before);
    },
  );

  it('a legal transition does not mutate its input either', () => {
    const session = makeSession({ status: PROVISIONING, resources: { instanceId: 'i-1' } });
    const before = structuredClone(session);
    const next = transition(
      session,
      { type: 'ready', connection, resources: { subnetId: 'subnet-1' } },
      T0 + MINUTE,
    );
    expect(session).toEqual(before);
    expect(next).not.toBe(session);
    expect(next.resources).not.toBe(session.resources);
  });
});

describe('resources', () => {
  it('provision and attach merge resources, keeping what was there', () => {
    const provisioning = transition(
      makeSession(),
      { type: 'provision', resources: { securityGroupId: 'sg-1' } },
      T0 + 1000,
    );
    const attached = transition(
      provisioning,
      { type: 'attach', resources: { instanceId: 'i-1' } },
      T0 + 2000,
    );
    expect(attached.resources).toEqual({ securityGroupId: 'sg-1', instanceId: 'i-1' });
    expect(attached.status).toBe(PROVISIONING);
    expect(attached.version).toBe(3);
  });

  it('attach keeps the launch time and only the public half of the issued host key', () => {
    const key = issueHostKey();
    const attached = transition(
      makeSession({ status: PROVISIONING }),
      { type: 'attach', resources: { instanceId: 'i-1' }, launchSentAt: T0 + 10, hostKey: key },
      T0 + 2000,
    );
    expect(attached.launchSentAt).toBe(T0 + 10);
    expect(attached.hostKey).toEqual({ publicKey: key.publicKey, fingerprint: key.fingerprint });
    expect(JSON.stringify(attached)).not.toContain('PRIVATE KEY');
  });

  it('running records the first report only, and READY implies it', () => {
    const first = transition(makeSession({ status: PROVISIONING }), { type: 'running' }, T0 + 5);
    const again = transition(first, { type: 'running' }, T0 + 9);
    expect(again.bastionRunningAt).toBe(T0 + 5);
    expect(again.status).toBe(PROVISIONING);
    const direct = transition(
      makeSession({ status: PROVISIONING }),
      { type: 'ready', connection: { bastionHost: 'h', bastionPort: 22, linuxUser: 'u' } },
      T0 + 7,
    );
    expect(direct.bastionRunningAt).toBe(T0 + 7);
  });

  it('provision without resources keeps the existing ones', () => {
    const next = transition(makeSession({ resources: { pid: 42 } }), { type: 'provision' }, T0);
    expect(next.resources).toEqual({ pid: 42 });
  });
});

describe('the window starts at READY', () => {
  const provisioning = makeSession({ status: PROVISIONING });

  it('expiresAt = readyAt + duration; connection recorded', () => {
    const now = T0 + 3 * MINUTE;
    const ready = transition(provisioning, { type: 'ready', connection }, now);
    expect(ready.readyAt).toBe(now);
    expect(ready.expiresAt).toBe(now + 30 * MINUTE);
    expect(ready.connection).toEqual(connection);
  });

  it('expiresAt is capped at credentialExpiresAt', () => {
    const session = makeSession({
      status: PROVISIONING,
      credentialExpiresAt: T0 + 20 * MINUTE,
    });
    const ready = transition(session, { type: 'ready', connection }, T0 + 5 * MINUTE);
    expect(ready.expiresAt).toBe(T0 + 20 * MINUTE);
  });

  it('ready exactly at the provisioning deadline is still accepted', () => {
    const ready = transition(provisioning, { type: 'ready', connection }, T0 + 10 * MINUTE);
    expect(ready.status).toBe(READY);
  });

  it('ready after the provisioning deadline is refused, input untouched', () => {
    const before = structuredClone(provisioning);
    expect(() =>
      transition(provisioning, { type: 'ready', connection }, T0 + 10 * MINUTE + 1),
    ).toThrow(IllegalTransitionError);
    expect(provisioning).toEqual(before);
  });

  it('ready merges late resources', () => {
    const session = makeSession({ status: PROVISIONING, resources: { instanceId: 'i-1' } });
    const ready = transition(
      session,
      { type: 'ready', connection, resources: { subnetId: 'subnet-9' } },
      T0 + MINUTE,
    );
    expect(ready.resources).toEqual({ instanceId: 'i-1', subnetId: 'subnet-9' });
  });
});

describe('ending and failing', () => {
  it.each(Object.values(EndReason))('end records the reason %s', (reason) => {
    const ready = makeSession({ status: READY, readyAt: T0, expiresAt: T0 + 30 * MINUTE });
    const ending = transition(ready, { type: 'end', reason }, T0 + 31 * MINUTE);
    expect(ending.status).toBe(ENDING);
    expect(ending.endReason).toBe(reason);
    expect(ending.endedAt).toBeUndefined();
  });

  it('end keeps a detail, truncated', () => {
    const ending = transition(
      makeSession({ status: READY }),
      { type: 'end', reason: 'orphan', detail: 'x'.repeat(1000) },
      T0,
    );
    expect(ending.failureReason).toBe('x'.repeat(MAX_FAILURE_REASON_LENGTH));
  });

  it('ended stamps endedAt and keeps the reason', () => {
    const ending = makeSession({ status: ENDING, endReason: 'expired' });
    const ended = transition(ending, { type: 'ended' }, T0 + 40 * MINUTE);
    expect(ended.status).toBe(ENDED);
    expect(ended.endedAt).toBe(T0 + 40 * MINUTE);
    expect(ended.endReason).toBe('expired');
  });

  it('ended stores the recording chain head it is given, and note changes nothing but the version', () => {
    const head = { seq: 12, hash: 'a'.repeat(64) };
    const ending = makeSession({ status: ENDING, endReason: 'expired' });
    const ended = transition(ending, { type: 'ended', recordingHead: head }, T0 + 40 * MINUTE);
    expect(ended.recordingHead).toEqual(head);
    const viewed = transition(ended, { type: 'note' }, T0 + 50 * MINUTE);
    expect({ ...viewed, version: ended.version, updatedAt: ended.updatedAt }).toEqual(ended);
  });

  it('ended notes when to look at a settling recording; seal-recording stores its head once, and ends the wait', () => {
    const ending = makeSession({ status: ENDING, endReason: 'expired' });
    const ended = transition(ending, { type: 'ended', recordingSettle: SETTLE }, T0 + 40 * MINUTE);
    expect(ended.recordingSettle).toEqual(SETTLE);
    expect(ended.recordingHead).toBeUndefined();
    const viewed = transition(ended, { type: 'note' }, T0 + 40 * MINUTE);
    expect(viewed.recordingSettle).toEqual(SETTLE);
    const head = { seq: 9, hash: 'c'.repeat(64), closed: false };
    const sealed = transition(
      viewed,
      { type: 'seal-recording', recordingHead: head },
      T0 + 46 * MINUTE,
    );
    expect(sealed).toMatchObject({ status: ENDED, recordingHead: head });
    expect(sealed.recordingSettle).toBeUndefined();
    expect(() =>
      transition(
        sealed,
        { type: 'seal-recording', recordingHead: { ...head, seq: 10 } },
        T0 + 47 * MINUTE,
      ),
    ).toThrow(/already sealed/);
  });

  it('fail records the reason as failed, with the message', () => {
    const failed = transition(
      makeSession({ status: PROVISIONING }),
      { type: 'fail', reason: 'InsufficientInstanceCapacity' },
      T0 + MINUTE,
    );
    expect(failed.status).toBe(FAILED);
    expect(failed.endReason).toBe('failed');
    expect(failed.failureReason).toBe('InsufficientInstanceCapacity');
    expect(failed.endedAt).toBe(T0 + MINUTE);
  });

  it('fail truncates a long reason to MAX_FAILURE_REASON_LENGTH', () => {
    const reason = `${'a'.repeat(MAX_FAILURE_REASON_LENGTH)}SECRET-TAIL`;
    const failed = transition(makeSession(), { type: 'fail', reason }, T0);
    expect(failed.failureReason).toHaveLength(MAX_FAILURE_REASON_LENGTH);
    expect(failed.failureReason).not.toContain('SECRET-TAIL');
  });
});

/** Any event, with arbitrary payloads. */
const eventArb: fc.Arbitrary<LifecycleEvent> = fc.oneof(
  fc.constant<LifecycleEvent>({ type: 'provision' }),
  fc.constant<LifecycleEvent>({ type: 'attach', resources: { instanceId: 'i-1' } }),
  fc.constant<LifecycleEvent>({ type: 'ready', connection }),
  fc
    .record({
      reason: fc.constantFrom(...Object.values(EndReason)),
      detail: fc.option(fc.string(), { nil: undefined }),
    })
    .map((e): LifecycleEvent => ({ type: 'end', ...e })),
  fc.constant<LifecycleEvent>({ type: 'ended' }),
  fc.string({ maxLength: 500 }).map((reason): LifecycleEvent => ({ type: 'fail', reason })),
);

describe('property: random event sequences with increasing time', () => {
  it('never a READY session past its credential bound; terminal statuses never change', () => {
    const reached = new Set<string>();
    fc.assert(
      fc.property(
        fc.record({
          durationMinutes: fc.integer({ min: 1, max: 24 * 60 }),
          deadlineMinutes: fc.integer({ min: 1, max: 30 }),
          credentialMinutes: fc.integer({ min: 1, max: 26 * 60 }),
        }),
        fc.array(fc.tuple(eventArb, fc.integer({ min: 0, max: 20 * MINUTE })), { maxLength: 30 }),
        ({ durationMinutes, deadlineMinutes, credentialMinutes }, steps) => {
          let session = makeSession({
            durationMinutes,
            provisioningDeadline: T0 + deadlineMinutes * MINUTE,
            credentialExpiresAt: T0 + credentialMinutes * MINUTE,
          });
          let now = T0;
          for (const [event, gap] of steps) {
            now += gap;
            const before = structuredClone(session);
            let next: Session;
            try {
              next = transition(session, event, now);
            } catch (error) {
              expect(error).toBeInstanceOf(IllegalTransitionError);
              expect(session).toEqual(before);
              continue;
            }
            expect(isTerminal(before.status)).toBe(false);
            expect(next.version).toBe(session.version + 1);
            expect(next.updatedAt).toBe(now);
            if (next.status === READY) {
              expect(next.expiresAt).toBeDefined();
              expect(next.expiresAt).toBeLessThanOrEqual(next.credentialExpiresAt);
              expect(next.readyAt).toBeLessThanOrEqual(next.provisioningDeadline);
            }
            reached.add(next.status);
            session = next;
          }
        },
      ),
      { numRuns: 500 },
    );
    // the sequences did exercise the interesting states, so the property is not vacuous
    expect([...reached].sort()).toEqual([ENDED, ENDING, FAILED, PROVISIONING, READY]);
  });
});
