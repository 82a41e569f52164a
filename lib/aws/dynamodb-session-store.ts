import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../domain/audit.ts';
import type { Review } from '../domain/break-glass.ts';
import { DrawbridgeError, StaleSessionError } from '../domain/errors.ts';
import { isLive, isTerminal, type Session } from '../domain/session.ts';
import type { ReaperDay, ReaperSweep } from '../domain/usage.ts';
import type { Clock } from '../ports/clock.ts';
import type {
  AuditDraft,
  CreateSessionOptions,
  CreateSessionResult,
  ListAllOptions,
  ListOptions,
  ListReviewsOptions,
  Page,
  SessionStore,
  TransitionResult,
} from '../ports/session-store.ts';
import {
  appendEvent,
  listEvents,
  nextEvent,
  stampEvent,
  stampEvents,
} from './dynamodb/audit-events.ts';
import { claimedSessionId, claimKey } from './dynamodb/idempotency-records.ts';
import { quotaRefusal, releaseQuota, takeQuota } from './dynamodb/quota-counters.ts';
import { listReaperDays, recordReaperSweep } from './dynamodb/reaper-days.ts';
import { closeReview, getReview, insertReview, listReviews } from './dynamodb/reviews.ts';
import {
  findByInstanceId,
  getSession,
  getSessions,
  insertSession,
  listAll,
  listByOwner,
  listCreatedBetween,
  listDue,
  replaceSession,
  sessionPurgeAfter,
} from './dynamodb/sessions.ts';
import { CorruptItemError, SessionStoreError, type Table } from './dynamodb/table.ts';
import { type NamedItems, TRANSACTION_LIMIT, transact } from './dynamodb/transaction.ts';

export { CorruptItemError, SessionStoreError };

/**
 * The SessionStore port on one DynamoDB table. This file only composes the transactions that
 * span item kinds (create, transition); each kind's items, keys and queries live in
 * lib/aws/dynamodb/<kind>.ts, the table's layout in table-definition.ts.
 */
export interface DynamoDbSessionStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** how long ENDED and FAILED sessions stay before TTL purges them */
  retentionDays: number;
  clock: Clock;
}

/** The document client this store expects: undefined fields are dropped, never rejected. */
export function documentClientFor(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

type CreateItem = 'session' | 'quota' | 'event' | 'idempotency' | 'review';
type TransitionItem = 'session' | 'event' | 'quotaRelease' | `eventPurge#${number}`;

export class DynamoDbSessionStore implements SessionStore {
  private readonly table: Table;

  constructor(options: DynamoDbSessionStoreOptions) {
    this.table = {
      client: options.client,
      name: options.tableName,
      clock: options.clock,
      retentionDays: options.retentionDays,
    };
  }

  async create(session: Session, options: CreateSessionOptions): Promise<CreateSessionResult> {
    const table = this.table;
    const event = nextEvent(session, session.status, options.event, table.clock.now());
    const stored: Session = { ...session, auditSeq: event.seq, auditHead: event.hash };
    const claim = options.idempotency;
    const items: NamedItems<CreateItem> = [
      ['session', insertSession(table, stored)],
      ['quota', takeQuota(table, session, options.quota)],
      ['event', appendEvent(table, event)],
      ...(claim
        ? [['idempotency', claimKey(table, session.owner, session.id, claim)] as const]
        : []),
      ...(options.review ? [['review', insertReview(table, options.review)] as const] : []),
    ];

    const failed = await transact(table, items);
    if (!failed) return { session: stored, event, replayed: false };
    // A live record for this key: nothing was written, the caller gets what the key points at.
    if (claim && failed.has('idempotency')) {
      const existing = await getSession(table, await claimedSessionId(table, session.owner, claim));
      if (!existing || existing.owner !== session.owner) {
        throw new CorruptItemError(
          `idempotency record of ${session.owner} points at a missing session`,
        );
      }
      return { session: existing, replayed: true };
    }
    const quota = failed.get('quota');
    if (quota) throw quotaRefusal(session, options.quota, quota.item);
    throw new SessionStoreError(`session ${session.id} or its first audit event already exists`);
  }

  get(id: string): Promise<Session | undefined> {
    return getSession(this.table, id);
  }

  getMany(ids: readonly string[]): Promise<Map<string, Session>> {
    return getSessions(this.table, ids);
  }

  async transition(current: Session, next: Session, draft: AuditDraft): Promise<TransitionResult> {
    if (next.id !== current.id || next.owner !== current.owner) {
      throw new DrawbridgeError('a transition cannot change the session id or owner');
    }
    const table = this.table;
    const event = nextEvent(current, next.status, draft, table.clock.now());
    const stored: Session = { ...next, auditSeq: event.seq, auditHead: event.hash };
    const ends = isTerminal(stored.status);
    // Audit history is purged with its session: the transaction that ends the session stamps
    // every one of its events with the session's purge time.
    const purgeAfter = ends ? sessionPurgeAfter(table, stored) : undefined;
    const items: NamedItems<TransitionItem> = [
      ['session', replaceSession(table, current, stored)],
      ['event', appendEvent(table, event, purgeAfter)],
    ];
    const releasesQuota = isLive(current.status) && ends;
    const quotaRelease: NamedItems<TransitionItem> = releasesQuota
      ? [['quotaRelease', releaseQuota(table, current)]]
      : [];
    const purges: Array<readonly [TransitionItem, ReturnType<typeof appendEvent>]> = [];
    if (purgeAfter !== undefined) {
      const room = TRANSACTION_LIMIT - items.length - 1;
      const firstInTransaction = Math.max(1, current.auditSeq - room + 1);
      // A session with more events than one transaction holds: the oldest are stamped just
      // before. If the transaction then loses a race, the session lives on and whichever
      // transition ends it later stamps every event again with its own (later) time, so no
      // event is left without a purge time and none is purged before its session.
      await stampEvents(table, current.id, 1, firstInTransaction - 1, purgeAfter);
      for (let seq = firstInTransaction; seq <= current.auditSeq; seq += 1) {
        purges.push([
          `eventPurge#${seq}`,
          { Update: stampEvent(table, current.id, seq, purgeAfter) },
        ]);
      }
    }

    let failed = await transact(table, [...items, ...quotaRelease, ...purges]);
    if (failed?.size === 1 && failed.has('quotaRelease')) {
      // The counter was already at zero: end the session without giving back a slot it lacks.
      failed = await transact(table, [...items, ...purges]);
    }
    if (failed) throw new StaleSessionError();
    return { session: stored, event };
  }

  listByOwner(owner: string, options: ListOptions): Promise<Page<Session>> {
    return listByOwner(this.table, owner, options);
  }

  listAll(options: ListAllOptions): Promise<Page<Session>> {
    return listAll(this.table, options);
  }

  listDue(now: number, limit: number): Promise<Session[]> {
    return listDue(this.table, now, limit);
  }

  findByInstanceId(instanceId: string): Promise<Session | undefined> {
    return findByInstanceId(this.table, instanceId);
  }

  listEvents(sessionId: string): Promise<AuditEvent[]> {
    return listEvents(this.table, sessionId);
  }

  listCreatedBetween(from: number, to: number, options: ListOptions): Promise<Page<Session>> {
    return listCreatedBetween(this.table, from, to, options);
  }

  recordReaperSweep(at: number, sweep: ReaperSweep): Promise<void> {
    return recordReaperSweep(this.table, at, sweep);
  }

  listReaperDays(fromDay: string, toDay: string): Promise<ReaperDay[]> {
    return listReaperDays(this.table, fromDay, toDay);
  }

  getReview(sessionId: string): Promise<Review | undefined> {
    return getReview(this.table, sessionId);
  }

  listReviews(options: ListReviewsOptions): Promise<Page<Review>> {
    return listReviews(this.table, options);
  }

  closeReview(review: Review): Promise<Review> {
    return closeReview(this.table, review);
  }
}
