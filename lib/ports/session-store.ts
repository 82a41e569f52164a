import type { AuditEvent } from '../domain/audit.ts';
import type { Review } from '../domain/break-glass.ts';
import type { Session, SessionStatus } from '../domain/session.ts';
import type { ReaperDay, ReaperSweep } from '../domain/usage.ts';

/** What the caller says happened; the store adds seq, time, status and the hash chain. */
export interface AuditDraft {
  type: string;
  actor: string;
  detail?: Record<string, string | number | boolean>;
}

export interface IdempotencyClaim {
  key: string;
  /** sha256 of the canonical request body */
  bodyHash: string;
  /**
   * A retry that starts afresh: the record may be overwritten only while it still points at
   * this (failed) session; otherwise the create is a replay of whatever it points at now.
   */
  replaces?: string;
}

export interface CreateSessionOptions {
  /**
   * maximum live sessions for the owner, enforced in the same transaction as the write, on the
   * counter `session.quotaKind` names (break-glass sessions have their own)
   */
  quota: number;
  /** a break-glass session's review record, written in the same transaction */
  review?: Review;
  idempotency?: IdempotencyClaim;
  event: AuditDraft;
}

export interface CreateSessionResult {
  session: Session;
  /** the 'requested' audit event; absent on a replay */
  event?: AuditEvent;
  /** true when an Idempotency-Key replay returned the session created earlier */
  replayed: boolean;
}

export interface TransitionResult {
  /** `next` as stored, with auditSeq and auditHead advanced */
  session: Session;
  event: AuditEvent;
}

export interface Page<T> {
  items: T[];
  /** opaque; pass back to get the next page */
  cursor?: string;
}

export interface ListOptions {
  limit: number;
  cursor?: string;
}

export interface ListReviewsOptions extends ListOptions {
  status: Review['status'];
  /** only reviews of break-glass sessions requested before this (epoch ms) */
  requestedBefore?: number;
}

export interface ListAllOptions extends ListOptions {
  owner?: string;
  target?: string;
  status?: SessionStatus;
}

/**
 * Sessions, their quota counters, idempotency records and audit events. Every write that
 * changes a session is conditional on the status and version the caller read; a lost race
 * raises StaleSessionError. Quota is taken when a session is created and given back in the
 * same transaction that moves it to ENDED or FAILED.
 */
export interface SessionStore {
  /**
   * Throws QuotaExceededError, IdempotencyConflictError. With an idempotency claim whose key
   * is already held by a live (unexpired) record, nothing is written and the session that
   * record points at comes back with `replayed: true`; an expired record counts as absent,
   * even before TTL deletes it.
   */
  create(session: Session, options: CreateSessionOptions): Promise<CreateSessionResult>;
  get(id: string): Promise<Session | undefined>;
  /** Strongly consistent reads of many sessions (the reaper's reconciliation); missing ids are absent from the map. */
  getMany(ids: readonly string[]): Promise<Map<string, Session>>;
  /** Writes `next` if the stored session still has `current`'s status and version; appends the audit event in the same transaction. */
  transition(current: Session, next: Session, event: AuditDraft): Promise<TransitionResult>;
  listByOwner(owner: string, options: ListOptions): Promise<Page<Session>>;
  listAll(options: ListAllOptions): Promise<Page<Session>>;
  /** Live sessions whose deadline (provisioning deadline, or expiresAt once READY) is at or before `now`, from the sparse index. */
  listDue(now: number, limit: number): Promise<Session[]>;
  findByInstanceId(instanceId: string): Promise<Session | undefined>;
  listEvents(sessionId: string): Promise<AuditEvent[]>;
  /** Sessions created in [from, to), newest first, from the byCreated index (never a Scan). */
  listCreatedBetween(from: number, to: number, options: ListOptions): Promise<Page<Session>>;
  /** Adds one reaper sweep's findings to the record of its UTC day. */
  recordReaperSweep(at: number, sweep: ReaperSweep): Promise<void>;
  /** The reaper's day records from `fromDay` to `toDay` (YYYY-MM-DD, inclusive), oldest first. */
  listReaperDays(fromDay: string, toDay: string): Promise<ReaperDay[]>;
  getReview(sessionId: string): Promise<Review | undefined>;
  /** Reviews with one status, newest first, from an index (no scan). */
  listReviews(options: ListReviewsOptions): Promise<Page<Review>>;
  /** Stores a reviewed review if the stored one is still open; ConflictError if it is not. */
  closeReview(review: Review): Promise<Review>;
}
