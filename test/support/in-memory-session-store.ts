import { type AuditEvent, sealEvent } from '../../lib/domain/audit.ts';
import {
  IdempotencyConflictError,
  QuotaExceededError,
  StaleSessionError,
} from '../../lib/domain/errors.ts';
import { isLive, type Session, SessionStatus } from '../../lib/domain/session.ts';
import type { Clock } from '../../lib/ports/clock.ts';
import type {
  AuditDraft,
  CreateSessionOptions,
  CreateSessionResult,
  ListAllOptions,
  ListOptions,
  Page,
  SessionStore,
  TransitionResult,
} from '../../lib/ports/session-store.ts';

/**
 * The SessionStore contract in memory, for use-case tests: same conditional-write, quota,
 * idempotency and audit-chain rules as the DynamoDB store (which is tested on dynalite).
 */
export class InMemorySessionStore implements SessionStore {
  readonly sessions = new Map<string, Session>();
  readonly events = new Map<string, AuditEvent[]>();
  readonly active = new Map<string, number>();
  private readonly idempotency = new Map<string, { bodyHash: string; sessionId: string }>();
  private readonly clock: Clock;
  /** set to make the next write fail, to test fault paths */
  failNextWrite: Error | undefined;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  async create(session: Session, options: CreateSessionOptions): Promise<CreateSessionResult> {
    this.maybeFail();
    const idemKey = options.idempotency ? `${session.owner}#${options.idempotency.key}` : undefined;
    if (idemKey && options.idempotency) {
      const existing = this.idempotency.get(idemKey);
      if (existing) {
        if (existing.bodyHash !== options.idempotency.bodyHash)
          throw new IdempotencyConflictError();
        const stored = this.sessions.get(existing.sessionId);
        if (stored) return { session: structuredClone(stored), replayed: true };
      }
    }
    const active = this.active.get(session.owner) ?? 0;
    if (active >= options.quota) throw new QuotaExceededError(`quota of ${options.quota} reached`);
    const event = this.seal(session, options.event);
    const stored = { ...session, auditSeq: event.seq, auditHead: event.hash };
    this.sessions.set(session.id, structuredClone(stored));
    this.events.set(session.id, [event]);
    this.active.set(session.owner, active + 1);
    if (idemKey && options.idempotency) {
      this.idempotency.set(idemKey, {
        bodyHash: options.idempotency.bodyHash,
        sessionId: session.id,
      });
    }
    return { session: structuredClone(stored), replayed: false, event };
  }

  async get(id: string): Promise<Session | undefined> {
    const session = this.sessions.get(id);
    return session ? structuredClone(session) : undefined;
  }

  async transition(current: Session, next: Session, draft: AuditDraft): Promise<TransitionResult> {
    this.maybeFail();
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
      this.active.set(next.owner, Math.max(0, (this.active.get(next.owner) ?? 0) - 1));
    }
    return { session: structuredClone(written), event };
  }

  async listByOwner(owner: string, options: ListOptions): Promise<Page<Session>> {
    return this.page(
      [...this.sessions.values()].filter((s) => s.owner === owner),
      options,
    );
  }

  async listAll(options: ListAllOptions): Promise<Page<Session>> {
    const items = [...this.sessions.values()].filter(
      (s) =>
        (options.owner === undefined || s.owner === options.owner) &&
        (options.target === undefined || s.target === options.target) &&
        (options.status === undefined || s.status === options.status),
    );
    return this.page(items, options);
  }

  async listDue(now: number, limit: number): Promise<Session[]> {
    return [...this.sessions.values()]
      .filter((s) => isLive(s.status) && dueAt(s) <= now)
      .sort((a, b) => dueAt(a) - dueAt(b))
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

  private page(items: Session[], options: ListOptions): Page<Session> {
    const sorted = items.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    const start = options.cursor ? Number(options.cursor) : 0;
    const slice = sorted.slice(start, start + options.limit).map((s) => structuredClone(s));
    const nextStart = start + options.limit;
    return { items: slice, ...(nextStart < sorted.length ? { cursor: String(nextStart) } : {}) };
  }

  private maybeFail(): void {
    const failure = this.failNextWrite;
    if (failure) {
      this.failNextWrite = undefined;
      throw failure;
    }
  }
}

/** Same rule as the DynamoDB store's byDue index: an interrupted end is due at once. */
function dueAt(session: Session): number {
  if (session.status === SessionStatus.ENDING) return session.updatedAt;
  if (session.status === SessionStatus.READY)
    return session.expiresAt ?? session.provisioningDeadline;
  return session.provisioningDeadline;
}
