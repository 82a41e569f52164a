import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, verifyChain } from '../../lib/domain/audit.ts';
import { closeReview, openReview } from '../../lib/domain/break-glass.ts';
import {
  ConflictError,
  DrawbridgeError,
  IdempotencyConflictError,
  QuotaExceededError,
  StaleSessionError,
  ValidationError,
} from '../../lib/domain/errors.ts';
import { type LifecycleEvent, transition } from '../../lib/domain/lifecycle.ts';
import type { Session } from '../../lib/domain/session.ts';
import type { AuditDraft, SessionStore } from '../../lib/ports/session-store.ts';
import { BASE_TIME, makeSession } from '../support/sessions.ts';

/**
 * The SessionStore contract: one suite, run against the DynamoDB store on dynalite
 * (dynamodb-session-store.contract.test.ts) and the in-memory fake the use-case tests rely on
 * (in-memory-session-store.contract.test.ts), so the fake cannot drift from the real thing.
 * Adapter details (exact requests, raw items) stay in test/aws.
 */
export interface StoreUnderTest {
  store: SessionStore;
  clock: { now(): number; advance(ms: number): void };
  retentionDays: number;
  /** TTL purge times (epoch s) of a session and of each of its events; undefined where unset */
  purgeTimes(
    sessionId: string,
    events: number,
  ): Promise<{ session: number | undefined; events: Array<number | undefined> }>;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const requested: AuditDraft = { type: 'requested', actor: 'alice', detail: { target: 'prod-db' } };
const connection = { bastionHost: '127.0.0.1', bastionPort: 2222, linuxUser: 'db-x' };

const settle = async <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

export function sessionStoreContract(name: string, subject: () => StoreUnderTest): void {
  describe(`SessionStore contract: ${name}`, () => {
    async function create(overrides: Partial<Session> = {}, quota = 5) {
      const session = makeSession(overrides);
      const result = await subject().store.create(session, {
        quota,
        event: { ...requested, actor: session.owner },
      });
      return result.session;
    }

    async function step(session: Session, event: LifecycleEvent, actor = 'drawbridge') {
      const next = transition(session, event, subject().clock.now());
      return (await subject().store.transition(session, next, { type: event.type, actor })).session;
    }

    async function end(session: Session) {
      const ending = await step(session, { type: 'end', reason: 'revoked' }, session.owner);
      return step(ending, { type: 'ended' });
    }

    async function ready(overrides: Partial<Session> = {}) {
      return step(await step(await create(overrides), { type: 'provision' }), {
        type: 'ready',
        connection,
      });
    }

    async function pageAll(
      list: (cursor: string | undefined) => Promise<{ items: Session[]; cursor?: string }>,
    ) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await list(cursor);
        seen.push(...page.items.map((session) => session.id));
        cursor = page.cursor;
        pages += 1;
      } while (cursor && pages < 20);
      return seen;
    }

    describe('create and get', () => {
      it('stores the session with its first audit event and reads it back intact', async () => {
        const { store } = subject();
        const session = makeSession({ resources: { subnetId: 'subnet-1' } });
        const result = await store.create(session, { quota: 2, event: requested });

        expect(result.replayed).toBe(false);
        expect(result.event).toMatchObject({
          sessionId: session.id,
          seq: 1,
          at: BASE_TIME,
          status: 'REQUESTED',
          type: 'requested',
          actor: 'alice',
          detail: { target: 'prod-db' },
          prevHash: GENESIS_HASH,
        });
        expect(result.session).toMatchObject({ auditSeq: 1, auditHead: result.event?.hash });
        expect(await store.get(session.id)).toEqual(result.session);
      });

      it('answers undefined for a session that does not exist', async () => {
        expect(await subject().store.get('s-00000000000000000000')).toBeUndefined();
      });

      it('reads many sessions at once (more than one batch), leaving unknown ids out', async () => {
        const created = await Promise.all(
          Array.from({ length: 130 }, (_, index) => create({ owner: `owner-${index}` })),
        );
        const ids = created.map((session) => session.id);
        const missing = 's-00000000000000000000';
        const found = await subject().store.getMany([...ids, missing, ids[0] ?? '']);
        expect(found.size).toBe(130);
        expect(found.has(missing)).toBe(false);
        expect(found.get(ids[129] ?? '')?.owner).toBe('owner-129');
      });
    });

    describe('transitions', () => {
      it('writes the next state and advances the audit head', async () => {
        const session = await create();
        subject().clock.advance(MINUTE);
        const next = transition(
          session,
          { type: 'provision', resources: { instanceId: 'i-1' } },
          subject().clock.now(),
        );
        const result = await subject().store.transition(session, next, {
          type: 'provision',
          actor: 'drawbridge',
        });

        expect(result.event).toMatchObject({
          seq: 2,
          prevHash: session.auditHead,
          status: 'PROVISIONING',
        });
        expect(result.session).toMatchObject({
          status: 'PROVISIONING',
          version: 1,
          auditSeq: 2,
          auditHead: result.event.hash,
        });
        expect(await subject().store.get(session.id)).toEqual(result.session);
      });

      it('rejects a write from a stale version and writes nothing', async () => {
        const session = await create();
        const provisioning = await step(session, { type: 'provision' });
        const stale = transition(session, { type: 'fail', reason: 'late' }, subject().clock.now());

        await expect(
          subject().store.transition(session, stale, { type: 'fail', actor: 'worker-2' }),
        ).rejects.toBeInstanceOf(StaleSessionError);
        expect(await subject().store.get(session.id)).toEqual(provisioning);
        expect(await subject().store.listEvents(session.id)).toHaveLength(2);
      });

      it('rejects a write whose expected status no longer holds, even at the same version', async () => {
        const session = await create();
        const claimed = { ...session, status: 'PROVISIONING' as const };
        const next = transition(claimed, { type: 'ready', connection }, subject().clock.now());

        await expect(
          subject().store.transition(claimed, next, { type: 'ready', actor: 'drawbridge' }),
        ).rejects.toBeInstanceOf(StaleSessionError);
        expect(await subject().store.get(session.id)).toMatchObject({
          status: 'REQUESTED',
          version: 0,
        });
      });

      it('rejects a transition of a session that was never stored', async () => {
        const ghost = makeSession();
        const next = transition(ghost, { type: 'provision' }, subject().clock.now());
        await expect(
          subject().store.transition(ghost, next, { type: 'provision', actor: 'drawbridge' }),
        ).rejects.toBeInstanceOf(StaleSessionError);
      });

      it('refuses a transition that changes the id or the owner', async () => {
        const session = await create();
        await expect(
          subject().store.transition(
            session,
            { ...session, owner: 'mallory', version: 1 },
            { type: 'steal', actor: 'mallory' },
          ),
        ).rejects.toBeInstanceOf(DrawbridgeError);
        expect(await subject().store.get(session.id)).toMatchObject({ owner: 'alice' });
      });

      it('lets exactly one of two racing transitions from the same state win', async () => {
        const session = await create();
        const now = subject().clock.now();
        const results = await Promise.all([
          settle(
            subject().store.transition(session, transition(session, { type: 'provision' }, now), {
              type: 'provision',
              actor: 'worker-1',
            }),
          ),
          settle(
            subject().store.transition(
              session,
              transition(session, { type: 'end', reason: 'revoked' }, now),
              { type: 'end', actor: 'alice' },
            ),
          ),
        ]);

        expect(results.filter((result) => result.ok)).toHaveLength(1);
        const loser = results.find((result) => !result.ok);
        expect(loser && !loser.ok && loser.error).toBeInstanceOf(StaleSessionError);
        expect(await subject().store.listEvents(session.id)).toHaveLength(2);
      });
    });

    describe('quota', () => {
      it('admits exactly 2 of 50 concurrent requests from one user with quota 2', async () => {
        const results = await Promise.all(
          Array.from({ length: 50 }, () => settle(create({ owner: 'carol' }, 2))),
        );

        expect(results.filter((result) => result.ok)).toHaveLength(2);
        const refusals = results.flatMap((result) => (result.ok ? [] : [result.error]));
        expect(refusals).toHaveLength(48);
        for (const refusal of refusals) {
          expect(refusal).toBeInstanceOf(QuotaExceededError);
          expect((refusal as Error).message).toBe(
            'you already have 2 live sessions, the most this policy allows; end one first',
          );
        }
        expect((await subject().store.listByOwner('carol', { limit: 100 })).items).toHaveLength(2);
      });

      it('gives the slot back when a session ends, and when one fails', async () => {
        const first = await create({ owner: 'dave' }, 1);
        await expect(create({ owner: 'dave' }, 1)).rejects.toBeInstanceOf(QuotaExceededError);

        await end(first);
        const second = await create({ owner: 'dave' }, 1);
        await expect(create({ owner: 'dave' }, 1)).rejects.toBeInstanceOf(QuotaExceededError);

        await step(second, { type: 'fail', reason: 'no capacity' });
        await expect(create({ owner: 'dave' }, 1)).resolves.toMatchObject({ owner: 'dave' });
      });

      it('counts each user separately: 100 concurrent requests from 100 users all succeed', async () => {
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, index) => settle(create({ owner: `user-${index}` }, 1))),
        );
        expect(results.filter((result) => result.ok)).toHaveLength(100);
      });

      it('counts break-glass sessions on their own counter', async () => {
        await create({ owner: 'gina' }, 1);
        await expect(
          create({ owner: 'gina', quotaKind: 'break-glass', breakGlass: true }, 1),
        ).resolves.toMatchObject({ quotaKind: 'break-glass' });
        await expect(
          create({ owner: 'gina', quotaKind: 'break-glass', breakGlass: true }, 1),
        ).rejects.toThrow(
          'you already have 1 live break-glass session, the most this policy allows; end one first',
        );
      });

      it('says so plainly when the policy allows no sessions at all', async () => {
        await expect(create({ owner: 'frank' }, 0)).rejects.toThrow(
          'this policy allows you no live sessions',
        );
      });
    });

    describe('per-endpoint cap (eice)', () => {
      const ENDPOINT = 'eice-0123456789abcdef0';
      const eice = (owner: string, endpoint = ENDPOINT): Partial<Session> => ({
        owner,
        mode: 'eice',
        target: 'prod-eice',
        resources: {
          targetInstanceId: 'i-0123456789abcdef0',
          privateIpAddress: '10.0.1.5',
          eiceEndpointId: endpoint,
          eiceEndpointDns: `${endpoint}.ec2-instance-connect-endpoint.eu-west-1.amazonaws.com`,
        },
      });
      async function createEice(overrides: Partial<Session>, cap: number) {
        const session = makeSession(overrides);
        const result = await subject().store.create(session, {
          quota: 5,
          endpointCap: cap,
          event: { ...requested, actor: session.owner },
        });
        return result.session;
      }

      it('admits exactly the cap of 30 concurrent requests from 30 users through one endpoint, and names the endpoint in the refusal', async () => {
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, index) => settle(createEice(eice(`eu-${index}`), 20))),
        );

        expect(results.filter((result) => result.ok)).toHaveLength(20);
        const refusals = results.flatMap((result) => (result.ok ? [] : [result.error]));
        expect(refusals).toHaveLength(10);
        for (const refusal of refusals) {
          expect(refusal).toBeInstanceOf(QuotaExceededError);
          expect((refusal as Error).message).toBe(
            `EC2 Instance Connect Endpoint ${ENDPOINT} already carries 20 live sessions, the most this policy allows; retry when one ends`,
          );
        }
      });

      it('gives the slot back when an eice session ends or fails, and counts each endpoint apart', async () => {
        const first = await createEice(eice('ella'), 1);
        await expect(createEice(eice('finn'), 1)).rejects.toThrow(ENDPOINT);
        await expect(createEice(eice('finn', 'eice-0fedcba9876543210'), 1)).resolves.toMatchObject({
          owner: 'finn',
        });

        await end(first);
        const second = await createEice(eice('gus'), 1);
        await expect(createEice(eice('hal'), 1)).rejects.toThrow(ENDPOINT);
        await step(second, { type: 'fail', reason: 'instance stopped' });
        await expect(createEice(eice('hal'), 1)).resolves.toMatchObject({ owner: 'hal' });
      });

      it('never counts sessions of other modes on an endpoint', async () => {
        await createEice(eice('ivy'), 1);
        await expect(
          subject().store.create(makeSession({ ...eice('jon'), mode: 'ssm' }), {
            quota: 5,
            endpointCap: 1,
            event: { ...requested, actor: 'jon' },
          }),
        ).resolves.toMatchObject({ replayed: false });
      });
    });

    describe('idempotency', () => {
      const claim = { key: 'retry-1', bodyHash: 'a'.repeat(64) };
      const createWith = (idempotency: typeof claim & { replaces?: string }, quota = 5) =>
        subject().store.create(makeSession(), { quota, idempotency, event: requested });

      it('replays the same session for the same key and body, without taking quota twice', async () => {
        const first = await createWith(claim, 1);
        // The retry builds a new session object (new id), exactly as the use case would.
        const again = await createWith(claim, 1);

        expect(again).toEqual({ session: first.session, replayed: true });
        expect(await subject().store.listEvents(first.session.id)).toHaveLength(1);
        // The slot was taken once: a different request is over quota.
        await expect(createWith({ ...claim, key: 'other' }, 1)).rejects.toBeInstanceOf(
          QuotaExceededError,
        );
      });

      it('creates one session for concurrent retries of one request', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, () => createWith(claim)));

        expect(new Set(results.map((result) => result.session.id)).size).toBe(1);
        expect(results.filter((result) => !result.replayed)).toHaveLength(1);
      });

      it('refuses the same key with a different body', async () => {
        await createWith(claim);
        await expect(createWith({ ...claim, bodyHash: 'b'.repeat(64) })).rejects.toBeInstanceOf(
          IdempotencyConflictError,
        );
        expect((await subject().store.listByOwner('alice', { limit: 10 })).items).toHaveLength(1);
      });

      it("keeps one user's keys apart from another's, even when the names could run together", async () => {
        const { store } = subject();
        const alice = await store.create(makeSession({ owner: 'a#b' }), {
          quota: 5,
          idempotency: { ...claim, key: 'c' },
          event: requested,
        });
        const bob = await store.create(makeSession({ owner: 'a' }), {
          quota: 5,
          idempotency: { ...claim, key: 'b#c' },
          event: requested,
        });
        expect(bob.replayed).toBe(false);
        expect(bob.session.id).not.toBe(alice.session.id);
      });

      it('treats a record past its day as absent', async () => {
        const first = await createWith(claim);
        subject().clock.advance(DAY - 1000);
        expect(await createWith(claim)).toMatchObject({ replayed: true });
        subject().clock.advance(1000);

        const later = await createWith(claim);
        expect(later.replayed).toBe(false);
        expect(later.session.id).not.toBe(first.session.id);
        expect(await createWith(claim)).toMatchObject({
          replayed: true,
          session: { id: later.session.id },
        });
      });

      it('moves the key to a fresh attempt only while it still points at the session it replaces', async () => {
        const failed = await createWith(claim);
        const fresh = await createWith({ ...claim, replaces: failed.session.id });
        expect(fresh.replayed).toBe(false);

        // A second retry that also saw the failure: the key moved on, so it gets the fresh one.
        const late = await createWith({ ...claim, replaces: failed.session.id });
        expect(late).toMatchObject({ replayed: true, session: { id: fresh.session.id } });
        await expect(
          createWith({ ...claim, bodyHash: 'b'.repeat(64), replaces: fresh.session.id }),
        ).resolves.toMatchObject({ replayed: false });
      });
    });

    describe('audit events', () => {
      it('chains every event of a session in order, each linked to the previous hash', async () => {
        const session = await create();
        subject().clock.advance(MINUTE);
        const provisioning = await step(session, { type: 'provision' });
        subject().clock.advance(MINUTE);
        const live = await step(provisioning, { type: 'ready', connection });
        subject().clock.advance(MINUTE);
        const ended = await end(live);

        const events = await subject().store.listEvents(session.id);
        expect(events.map((event) => [event.seq, event.status])).toEqual([
          [1, 'REQUESTED'],
          [2, 'PROVISIONING'],
          [3, 'READY'],
          [4, 'ENDING'],
          [5, 'ENDED'],
        ]);
        expect(verifyChain(events)).toEqual({ intact: true });
        expect(ended).toMatchObject({ auditSeq: 5, auditHead: events[4]?.hash });
      });

      it("stores a recorded session's chain head with the ended write, and a replay's view event after it", async () => {
        const live = await ready({ recording: 'full' });
        const ending = await step(live, { type: 'end', reason: 'expired' });
        const head = { seq: 42, hash: 'c'.repeat(64) };
        const ended = await step(ending, { type: 'ended', recordingHead: head });
        expect(await subject().store.get(live.id)).toMatchObject({
          status: 'ENDED',
          recording: 'full',
          recordingHead: head,
        });
        const viewed = await step(ended, { type: 'note' }, 'auditor');
        expect(await subject().store.get(live.id)).toMatchObject({
          status: 'ENDED',
          recordingHead: head,
          version: viewed.version,
        });
        const events = await subject().store.listEvents(live.id);
        expect(events.at(-1)).toMatchObject({ type: 'note', actor: 'auditor', status: 'ENDED' });
        expect(verifyChain(events)).toEqual({ intact: true });
      });

      it('lists no events for an unknown session', async () => {
        expect(await subject().store.listEvents('s-00000000000000000000')).toEqual([]);
      });
    });

    describe('purgeAfter', () => {
      it('purges nothing of a live session, and a session with all its events once it is over', async () => {
        const session = await step(await create(), { type: 'provision' });
        expect(await subject().purgeTimes(session.id, 2)).toEqual({
          session: undefined,
          events: [undefined, undefined],
        });

        subject().clock.advance(MINUTE);
        const ended = await end(session);
        const at = Math.floor((ended.endedAt ?? 0) / 1000) + subject().retentionDays * 86_400;
        expect(await subject().purgeTimes(session.id, 4)).toEqual({
          session: at,
          events: [at, at, at, at],
        });
      });

      it('purges a failed session with its events too', async () => {
        const failed = await step(await create(), { type: 'fail', reason: 'no capacity' });
        const at = Math.floor((failed.endedAt ?? 0) / 1000) + subject().retentionDays * 86_400;
        expect(await subject().purgeTimes(failed.id, 2)).toEqual({ session: at, events: [at, at] });
      });
    });

    describe('listing and cursors', () => {
      async function fiveSessions(owner = 'alice') {
        const ids: string[] = [];
        for (let index = 0; index < 5; index += 1) {
          ids.push((await create({ owner, createdAt: BASE_TIME + index * MINUTE })).id);
        }
        return ids.reverse(); // newest first
      }

      it("pages through a user's sessions newest first, without gaps or repeats", async () => {
        const newestFirst = await fiveSessions();
        await create({ owner: 'bob' });

        const seen = await pageAll((cursor) =>
          subject().store.listByOwner('alice', { limit: 2, ...(cursor ? { cursor } : {}) }),
        );
        expect(seen).toEqual(newestFirst);
      });

      it("rejects a tampered, foreign or garbage cursor as invalid, and never pages another owner's sessions", async () => {
        await fiveSessions();
        await fiveSessions('bob');
        const { store } = subject();
        const { cursor } = await store.listByOwner('alice', { limit: 2 });
        const { cursor: bobCursor } = await store.listByOwner('bob', { limit: 2 });
        const decoded = JSON.parse(Buffer.from(cursor ?? '', 'base64url').toString('utf8'));
        const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

        for (const bad of [
          encode({ ...decoded, extra: 'x' }),
          encode({ ...decoded, createdAt: 1e38 }),
          bobCursor ?? '',
          'not a cursor!',
          encode([1]),
        ]) {
          const failure = await settle(store.listByOwner('alice', { limit: 2, cursor: bad }));
          expect(failure.ok).toBe(false);
          if (failure.ok) continue;
          expect(failure.error).toBeInstanceOf(ValidationError);
          expect((failure.error as Error).message).toMatch(/^invalid cursor/);
        }
        // An admin's byCreated cursor is not an owner cursor either.
        const { cursor: allCursor } = await store.listAll({ limit: 2 });
        await expect(
          store.listByOwner('alice', { limit: 2, cursor: allCursor ?? '' }),
        ).rejects.toBeInstanceOf(ValidationError);
      });

      it('refuses a limit below one', async () => {
        await expect(subject().store.listByOwner('alice', { limit: 0 })).rejects.toBeInstanceOf(
          ValidationError,
        );
      });

      it('lists everyone newest first for admins, with target and status filters', async () => {
        const alice = await create({ owner: 'alice', createdAt: BASE_TIME });
        const bob = await create({
          owner: 'bob',
          createdAt: BASE_TIME + MINUTE,
          target: 'staging-db',
        });
        const carol = await create({ owner: 'carol', createdAt: BASE_TIME + 2 * MINUTE });
        await end(carol);

        const ids = async (options: Parameters<SessionStore['listAll']>[0]) =>
          pageAll((cursor) =>
            subject().store.listAll({ ...options, ...(cursor ? { cursor } : {}) }),
          );

        expect(await ids({ limit: 10 })).toEqual([carol.id, bob.id, alice.id]);
        expect(await ids({ limit: 10, target: 'prod-db' })).toEqual([carol.id, alice.id]);
        expect(await ids({ limit: 10, status: 'ENDED' })).toEqual([carol.id]);
        expect(await ids({ limit: 10, owner: 'bob' })).toEqual([bob.id]);
        expect(await ids({ limit: 10, owner: 'bob', target: 'prod-db' })).toEqual([]);
      });

      it('pages the admin listing with its own cursor', async () => {
        const newestFirst = await fiveSessions();
        expect(
          await pageAll((cursor) =>
            subject().store.listAll({ limit: 3, ...(cursor ? { cursor } : {}) }),
          ),
        ).toEqual(newestFirst);
      });

      it('lists sessions created in [from, to), paging inside the range only', async () => {
        const newestFirst = await fiveSessions(); // BASE_TIME .. BASE_TIME + 4 min
        const from = BASE_TIME + MINUTE;
        const to = BASE_TIME + 4 * MINUTE;
        const { store } = subject();
        expect(
          await pageAll((cursor) =>
            store.listCreatedBetween(from, to, { limit: 2, ...(cursor ? { cursor } : {}) }),
          ),
        ).toEqual(newestFirst.slice(1, 4));
        expect((await store.listCreatedBetween(to, from, { limit: 2 })).items).toEqual([]);

        const { cursor } = await store.listAll({ limit: 1 }); // positioned at BASE_TIME + 4 min
        await expect(
          store.listCreatedBetween(from, to, { limit: 2, cursor: cursor ?? '' }),
        ).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('listDue (the reaper)', () => {
      it('lists live sessions due by now, never ended ones or ones not yet due', async () => {
        const overdueRequest = await create({ createdAt: BASE_TIME - 10 * MINUTE });
        const pending = await create({ createdAt: BASE_TIME }); // deadline 5 minutes from now
        const readyLong = await ready();
        subject().clock.advance(MINUTE);
        const readyShort = await ready({ durationMinutes: 10 });
        const ended = await end(await create({ createdAt: BASE_TIME - 20 * MINUTE }));

        const due = async () =>
          (await subject().store.listDue(subject().clock.now(), 100))
            .map((session) => session.id)
            .sort();
        expect(await due()).toEqual([overdueRequest.id]);

        subject().clock.advance((readyShort.expiresAt ?? 0) + 1 - subject().clock.now());
        expect(await due()).toEqual([overdueRequest.id, pending.id, readyShort.id].sort());
        expect(await due()).not.toContain(ended.id);
        expect(await due()).not.toContain(readyLong.id);
      });

      it('makes an ENDING session due at once, so an interrupted revoke is retried long before expiresAt', async () => {
        const live = await ready();
        subject().clock.advance(MINUTE);
        const ending = await step(live, { type: 'end', reason: 'revoked' });

        expect(await subject().store.listDue(subject().clock.now() - 1, 10)).toEqual([]);
        const due = await subject().store.listDue(subject().clock.now(), 10);
        expect(due.map((session) => [session.id, session.status])).toEqual([[ending.id, 'ENDING']]);
      });

      it('makes a READY session owed an expiry notice due at the notice, before its end', async () => {
        const live = await ready();
        const warnAt = (live.expiresAt ?? 0) - 5 * MINUTE;
        const owed = await subject().store.transition(
          live,
          { ...live, version: live.version + 1, expiryWarningAt: warnAt },
          { type: 'owe-notice', actor: 'drawbridge' },
        );
        expect(await subject().store.listDue(warnAt - 1, 10)).toEqual([]);
        expect(await subject().store.listDue(warnAt, 10)).toEqual([owed.session]);
      });

      it('keeps an ENDED session whose recording is settling due from its check until it is sealed', async () => {
        const live = await ready({ recording: 'full' });
        const ending = await step(live, { type: 'end', reason: 'expired' });
        const now = subject().clock.now();
        const settle = { checkAt: now + 30_000, deadline: now + 330_000 };
        const ended = await step(ending, { type: 'ended', recordingSettle: settle });
        expect(await subject().store.listDue(settle.checkAt - 1, 10)).toEqual([]);
        expect(await subject().store.listDue(settle.checkAt, 10)).toEqual([ended]);
        const head = { seq: 7, hash: 'e'.repeat(64), closed: false };
        const sealed = await step(ended, { type: 'seal-recording', recordingHead: head });
        expect(sealed).toMatchObject({ status: 'ENDED', recordingHead: head });
        expect(await subject().store.get(live.id)).toEqual(sealed);
        expect(await subject().store.listDue(settle.deadline, 10)).toEqual([]);
      });

      it('honours the limit, oldest deadline first', async () => {
        const created: Session[] = [];
        for (let index = 0; index < 5; index += 1) {
          created.push(
            await create({ owner: `u${index}`, createdAt: BASE_TIME - (20 + index) * MINUTE }),
          );
        }
        const due = await subject().store.listDue(BASE_TIME, 3);
        expect(due.map((session) => session.id)).toEqual(
          created
            .slice(2)
            .reverse()
            .map((session) => session.id),
        );
      });
    });

    describe('findByInstanceId', () => {
      it('finds the session that owns an instance, and nothing for an unknown one', async () => {
        const session = await step(await create(), {
          type: 'provision',
          resources: { instanceId: 'i-0abc' },
        });
        expect(await subject().store.findByInstanceId('i-0abc')).toEqual(session);
        expect(await subject().store.findByInstanceId('i-unknown')).toBeUndefined();
      });
    });

    describe('break-glass reviews', () => {
      async function breakGlass(createdAt: number, owner = 'oncall') {
        const session = makeSession({
          owner,
          createdAt,
          breakGlass: true,
          incidentId: 'INC-1',
          quotaKind: 'break-glass',
        });
        await subject().store.create(session, {
          quota: 5,
          review: openReview(session),
          event: requested,
        });
        return session;
      }

      it('writes the open review with its session and closes it once', async () => {
        const session = await breakGlass(BASE_TIME);
        const open = await subject().store.getReview(session.id);
        expect(open).toEqual(openReview(session));

        const reviewed = closeReview(
          open ?? openReview(session),
          { verdict: 'appropriate', comment: 'fine' },
          'root',
          subject().clock.now(),
        );
        expect(await subject().store.closeReview(reviewed)).toEqual(reviewed);
        expect(await subject().store.getReview(session.id)).toEqual(reviewed);
        await expect(subject().store.closeReview(reviewed)).rejects.toBeInstanceOf(ConflictError);
        expect(await subject().store.getReview('s-00000000000000000000')).toBeUndefined();
      });

      it('lists reviews of one status newest first, paging with a cursor that fits only that listing', async () => {
        const sessions: Session[] = [];
        for (let index = 0; index < 5; index += 1) {
          sessions.push(await breakGlass(BASE_TIME + index * MINUTE, `oncall-${index}`));
        }
        const { store } = subject();
        const open = async (requestedBefore?: number) => {
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await store.listReviews({
              status: 'open',
              limit: 2,
              ...(requestedBefore === undefined ? {} : { requestedBefore }),
              ...(cursor ? { cursor } : {}),
            });
            seen.push(...page.items.map((review) => review.sessionId));
            cursor = page.cursor;
          } while (cursor);
          return seen;
        };
        const ids = sessions.map((session) => session.id).reverse();
        expect(await open()).toEqual(ids);
        expect(await open(BASE_TIME + 2 * MINUTE)).toEqual(ids.slice(3));
        expect((await store.listReviews({ status: 'reviewed', limit: 5 })).items).toEqual([]);

        const { cursor } = await store.listReviews({ status: 'open', limit: 1 });
        await expect(
          store.listReviews({ status: 'reviewed', limit: 1, cursor: cursor ?? '' }),
        ).rejects.toBeInstanceOf(ValidationError);
        const { cursor: sessionCursor } = await store.listAll({ limit: 1 });
        await expect(
          store.listReviews({ status: 'open', limit: 1, cursor: sessionCursor ?? '' }),
        ).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('reaper days', () => {
      it('adds up the sweeps of each UTC day and lists a range of days oldest first', async () => {
        const { store } = subject();
        const sweep = { orphansFound: 2, orphansReaped: 1, expired: 3, failed: 0 };
        await store.recordReaperSweep(Date.UTC(2026, 2, 1, 23, 59), sweep);
        await store.recordReaperSweep(Date.UTC(2026, 2, 1, 1, 0), { ...sweep, failed: 1 });
        await store.recordReaperSweep(Date.UTC(2026, 2, 2, 0, 0), sweep);
        await store.recordReaperSweep(Date.UTC(2026, 2, 5, 0, 0), sweep);

        expect(await store.listReaperDays('2026-03-01', '2026-03-02')).toEqual([
          {
            day: '2026-03-01',
            sweeps: 2,
            orphansFound: 4,
            orphansReaped: 2,
            expired: 6,
            failed: 1,
          },
          {
            day: '2026-03-02',
            sweeps: 1,
            orphansFound: 2,
            orphansReaped: 1,
            expired: 3,
            failed: 0,
          },
        ]);
        expect(await store.listReaperDays('2026-03-02', '2026-03-01')).toEqual([]);
      });
    });
  });
}
