import type * as z from 'zod/mini';
import {
  ByCreatedCursor,
  ByOwnerCursor,
  type CursorKey,
  cursorKey,
  decodeCursor,
  encodeCursor,
  ReviewCursor,
} from '../../lib/aws/dynamodb/cursor.ts';
import { REVIEW_KIND } from '../../lib/aws/table-definition.ts';
import { type AuditEvent, sealEvent } from '../../lib/domain/audit.ts';
import type { Review } from '../../lib/domain/break-glass.ts';
import { dueAtFor } from '../../lib/domain/due.ts';
import { endpointFull } from '../../lib/domain/eice-session-policy.ts';
import {
  ConflictError,
  DrawbridgeError,
  IdempotencyConflictError,
  StaleSessionError,
  ValidationError,
} from '../../lib/domain/errors.ts';
import { quotaExceeded } from '../../lib/domain/quota.ts';
import { isLive, type Session } from '../../lib/domain/session.ts';
import { type ReaperDay, type ReaperSweep, utcDay } from '../../lib/domain/usage.ts';
import type { Clock } from '../../lib/ports/clock.ts';
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
} from '../../lib/ports/session-store.ts';

/** An Idempotency-Key holds for a day, as in DynamoDB. */
const IDEMPOTENCY_SECONDS = 86_400;

/**
 * The SessionStore contract in memory, for use-case tests: same conditional-write, quota,
 * idempotency and audit-chain rules as the DynamoDB store (which is tested on dynalite).
 */
export class InMemorySessionStore implements SessionStore {
  readonly sessions = new Map<string, Session>();
  readonly events = new Map<string, AuditEvent[]>();
  /** live sessions per quota counter: `owner` (standard) or `owner#break-glass` */
  readonly active = new Map<string, number>();
  /** live eice sessions per EC2 Instance Connect Endpoint */
  readonly endpointActive = new Map<string, number>();
  readonly reviews = new Map<string, Review>();
  readonly reaperDays = new Map<string, ReaperDay>();
  private readonly idempotency = new Map<
    string,
    { bodyHash: string; sessionId: string; purgeAfter: number }
  >();
  /** TTL purge times (epoch s) set once a session is over: its own and its events' */
  readonly purgeAfter = new Map<string, { session: number; events: number[] }>();
  private readonly clock: Clock;
  private readonly retentionDays: number;
  /** set to make the next write fail, to test fault paths */
  failNextWrite: Error | undefined;

  constructor(clock: Clock, options: { retentionDays?: number } = {}) {
    this.clock = clock;
    this.retentionDays = options.retentionDays ?? 30;
  }

  async create(session: Session, options: CreateSessionOptions): Promise<CreateSessionResult> {
    this.maybeFail();
    const claim = options.idempotency;
    const idemKey = claim ? JSON.stringify([session.owner, claim.key]) : undefined;
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    if (idemKey && claim) {
      const existing = this.idempotency.get(idemKey);
      const live = existing !== undefined && existing.purgeAfter > nowSeconds;
      if (live && !(claim.replaces !== undefined && existing.sessionId === claim.replaces)) {
        if (existing.bodyHash !== claim.bodyHash) throw new IdempotencyConflictError();
        const stored = this.sessions.get(existing.sessionId);
        if (stored) return { session: structuredClone(stored), replayed: true };
      }
    }
    const counter = quotaCounter(session);
    const active = this.active.get(counter) ?? 0;
    if (active >= options.quota) throw quotaExceeded(options.quota, session.quotaKind, active);
    const endpoint = session.mode === 'eice' ? session.resources.eiceEndpointId : undefined;
    const endpointCap = options.endpointCap;
    const onEndpoint = endpoint === undefined ? 0 : (this.endpointActive.get(endpoint) ?? 0);
    if (endpoint !== undefined && endpointCap !== undefined && onEndpoint >= endpointCap) {
      throw endpointFull(endpoint, endpointCap);
    }
    if (options.review && this.reviews.has(options.review.sessionId)) {
      throw new Error(`review ${options.review.sessionId} already exists`);
    }
    const event = this.seal(session, options.event);
    const stored = { ...session, auditSeq: event.seq, auditHead: event.hash };
    this.sessions.set(session.id, structuredClone(stored));
    this.events.set(session.id, [event]);
    this.active.set(counter, active + 1);
    if (endpoint !== undefined && endpointCap !== undefined) {
      this.endpointActive.set(endpoint, onEndpoint + 1);
    }
    if (options.review) this.reviews.set(session.id, structuredClone(options.review));
    if (idemKey && claim) {
      this.idempotency.set(idemKey, {
        bodyHash: claim.bodyHash,
        sessionId: session.id,
        purgeAfter: nowSeconds + IDEMPOTENCY_SECONDS,
      });
    }
    return { session: structuredClone(stored), replayed: false, event };
  }

  async get(id: string): Promise<Session | undefined> {
    const session = this.sessions.get(id);
    return session ? structuredClone(session) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<Map<string, Session>> {
    const found = new Map<string, Session>();
    for (const id of ids) {
      const session = this.sessions.get(id);
      if (session) found.set(id, structuredClone(session));
    }
    return found;
  }

  async transition(current: Session, next: Session, draft: AuditDraft): Promise<TransitionResult> {
    this.maybeFail();
    if (next.id !== current.id || next.owner !== current.owner) {
      throw new DrawbridgeError('a transition cannot change the session id or owner');
    }
    const stored = this.sessions.get(current.id);
    if (!stored || stored.status !== current.status || stored.version !== current.version) {
      throw new StaleSessionError();
    }
    const event = this.seal(
      { ...next, auditSeq: stored.auditSeq, auditHead: stored.auditHead },
      draft,
    );
    const written = { ...next, auditSeq: event.seq, auditHead: event.hash };
    this.sessions.set(next.id, structuredClone(written));
    this.events.get(next.id)?.push(event);
    if (isLive(current.status) && !isLive(next.status)) {
      const counter = quotaCounter(current);
      this.active.set(counter, Math.max(0, (this.active.get(counter) ?? 0) - 1));
      const endpoint = current.mode === 'eice' ? current.resources.eiceEndpointId : undefined;
      if (endpoint !== undefined) {
        this.endpointActive.set(
          endpoint,
          Math.max(0, (this.endpointActive.get(endpoint) ?? 0) - 1),
        );
      }
    }
    if (!isLive(next.status)) {
      // As in DynamoDB: the session and every one of its events go with the session's purge time.
      const at =
        Math.floor((written.endedAt ?? this.clock.now()) / 1000) + this.retentionDays * 86_400;
      this.purgeAfter.set(next.id, {
        session: at,
        events: (this.events.get(next.id) ?? []).map(() => at),
      });
    }
    return { session: structuredClone(written), event };
  }

  async listByOwner(owner: string, options: ListOptions): Promise<Page<Session>> {
    return this.page(
      [...this.sessions.values()].filter((s) => s.owner === owner),
      options,
      ByOwnerCursor,
      cursorKey.byOwner,
      (cursor) => cursor.owner === owner,
    );
  }

  async listAll(options: ListAllOptions): Promise<Page<Session>> {
    const items = [...this.sessions.values()].filter(
      (s) =>
        (options.owner === undefined || s.owner === options.owner) &&
        (options.target === undefined || s.target === options.target) &&
        (options.status === undefined || s.status === options.status),
    );
    const owner = options.owner;
    return owner === undefined
      ? this.page(items, options, ByCreatedCursor, cursorKey.byCreated)
      : this.page(
          items,
          options,
          ByOwnerCursor,
          cursorKey.byOwner,
          (cursor) => cursor.owner === owner,
        );
  }

  async listDue(now: number, limit: number): Promise<Session[]> {
    return [...this.sessions.values()]
      .filter((s) => (dueAtFor(s) ?? Number.POSITIVE_INFINITY) <= now)
      .sort((a, b) => (dueAtFor(a) ?? 0) - (dueAtFor(b) ?? 0))
      .slice(0, limit)
      .map((s) => structuredClone(s));
  }

  async findByInstanceId(instanceId: string): Promise<Session | undefined> {
    const found = [...this.sessions.values()].find((s) => s.resources.instanceId === instanceId);
    return found ? structuredClone(found) : undefined;
  }

  async listEvents(sessionId: string): Promise<AuditEvent[]> {
    return structuredClone(this.events.get(sessionId) ?? []);
  }

  async listCreatedBetween(from: number, to: number, options: ListOptions): Promise<Page<Session>> {
    if (!(to > from)) return { items: [] };
    return this.page(
      [...this.sessions.values()].filter((s) => s.createdAt >= from && s.createdAt < to),
      options,
      ByCreatedCursor,
      cursorKey.byCreated,
      (cursor) => cursor.createdAt >= from && cursor.createdAt < to,
    );
  }

  async recordReaperSweep(at: number, sweep: ReaperSweep): Promise<void> {
    const day = utcDay(at);
    const stored = this.reaperDays.get(day);
    this.reaperDays.set(day, {
      day,
      sweeps: (stored?.sweeps ?? 0) + 1,
      orphansFound: (stored?.orphansFound ?? 0) + sweep.orphansFound,
      orphansReaped: (stored?.orphansReaped ?? 0) + sweep.orphansReaped,
      expired: (stored?.expired ?? 0) + sweep.expired,
      failed: (stored?.failed ?? 0) + sweep.failed,
    });
  }

  async listReaperDays(fromDay: string, toDay: string): Promise<ReaperDay[]> {
    return [...this.reaperDays.values()]
      .filter((record) => record.day >= fromDay && record.day <= toDay)
      .sort((a, b) => (a.day < b.day ? -1 : 1))
      .map((record) => ({ ...record }));
  }

  async getReview(sessionId: string): Promise<Review | undefined> {
    const review = this.reviews.get(sessionId);
    return review ? structuredClone(review) : undefined;
  }

  async listReviews(options: ListReviewsOptions): Promise<Page<Review>> {
    const kind = REVIEW_KIND[options.status];
    const before = options.requestedBefore;
    return pageOf(
      [...this.reviews.values()].filter(
        (review) =>
          review.status === options.status && (before === undefined || review.requestedAt < before),
      ),
      options,
      ReviewCursor,
      cursorKey.review,
      (cursor) => cursor.kind === kind && (before === undefined || cursor.createdAt < before),
    );
  }

  async closeReview(review: Review): Promise<Review> {
    this.maybeFail();
    const stored = this.reviews.get(review.sessionId);
    if (stored?.status !== 'open') throw new ConflictError('this review is already closed');
    this.reviews.set(review.sessionId, structuredClone(review));
    return structuredClone(review);
  }

  private seal(session: Session, draft: AuditDraft): AuditEvent {
    return sealEvent({
      sessionId: session.id,
      seq: session.auditSeq + 1,
      at: this.clock.now(),
      type: draft.type,
      actor: draft.actor,
      status: session.status,
      ...(draft.detail ? { detail: draft.detail } : {}),
      prevHash: session.auditHead,
    });
  }

  private page<K extends CursorKey>(
    items: Session[],
    options: ListOptions,
    schema: z.ZodMiniType<K>,
    keyOf: (session: Session) => K,
    fits?: (cursor: K) => boolean,
  ): Page<Session> {
    return pageOf(items, options, schema, keyOf, fits);
  }

  private maybeFail(): void {
    const failure = this.failNextWrite;
    if (failure) {
      this.failNextWrite = undefined;
      throw failure;
    }
  }
}

/** The quota counter a session holds: break-glass sessions have their own, as in DynamoDB. */
const quotaCounter = (session: Session): string =>
  session.quotaKind === 'break-glass' ? `${session.owner}#break-glass` : session.owner;

/**
 * One page, newest first, resuming after the cursor's position as DynamoDB does (the cursor's
 * item need not exist). Cursors are the DynamoDB store's own (lib/aws/dynamodb/cursor.ts), so
 * a cursor the real store refuses, this one refuses too.
 */
function pageOf<T, K extends CursorKey>(
  items: T[],
  options: ListOptions,
  schema: z.ZodMiniType<K>,
  keyOf: (item: T) => K,
  fits?: (cursor: K) => boolean,
): Page<T> {
  if (!Number.isInteger(options.limit) || options.limit < 1) {
    throw new ValidationError('limit must be a positive integer');
  }
  // Positive when `a` comes after `b`: older first, then (equal times) the lower key.
  const newestFirst = (a: K, b: K) =>
    b.createdAt - a.createdAt || (a.pk < b.pk ? 1 : a.pk > b.pk ? -1 : 0);
  const keyed = items.map((item) => ({ item, key: keyOf(item) }));
  keyed.sort((a, b) => newestFirst(a.key, b.key));
  const start =
    options.cursor === undefined ? undefined : decodeCursor(options.cursor, schema, fits);
  const rest = start ? keyed.filter(({ key }) => newestFirst(key, start) > 0) : keyed;
  const slice = rest.slice(0, options.limit);
  const last = slice.at(-1);
  return {
    items: slice.map(({ item }) => structuredClone(item)),
    ...(rest.length > options.limit && last ? { cursor: encodeCursor(last.key) } : {}),
  };
}
