import { setTimeout as sleep } from 'node:timers/promises';
import { type DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { type AuditEvent, GENESIS_HASH, sealEvent } from '../domain/audit.ts';
import { REVIEW_VERDICTS, type Review } from '../domain/break-glass.ts';
import {
  ConflictError,
  DrawbridgeError,
  IdempotencyConflictError,
  QuotaExceededError,
  StaleSessionError,
  ValidationError,
} from '../domain/errors.ts';
import {
  EndReason,
  isLive,
  isTerminal,
  MODES,
  NOTIFY_EVENTS,
  QuotaKind,
  type Session,
  SessionStatus,
} from '../domain/session.ts';
import { type ReaperDay, type ReaperSweep, utcDay } from '../domain/usage.ts';
import type { Clock } from '../ports/clock.ts';
import type {
  AuditDraft,
  CreateSessionOptions,
  CreateSessionResult,
  IdempotencyClaim,
  ListAllOptions,
  ListOptions,
  ListReviewsOptions,
  Page,
  SessionStore,
  TransitionResult,
} from '../ports/session-store.ts';
import {
  DUE_SHARD,
  INDEX,
  itemKey,
  REVIEW_KIND,
  SESSION_KIND,
  TTL_ATTRIBUTE,
} from './table-definition.ts';

/** BatchGetItem takes at most 100 keys; unprocessed ones are retried with backoff. */
const BATCH_GET_LIMIT = 100;
const BATCH_GET_RETRIES = 5;

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

const DAY_SECONDS = 86_400;
const IDEMPOTENCY_SECONDS = DAY_SECONDS;
/** Real DynamoDB cancels a transaction that overlaps another one on the same item. */
const CONFLICT_ATTEMPTS = 5;

/** Reading an item we did not write the way we write it: a bug or tampering, never a 4xx. */
export class CorruptItemError extends DrawbridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptItemError';
  }
}

/** DynamoDB failed in a way the caller cannot fix (throttled, unreachable, misconfigured). */
export class SessionStoreError extends DrawbridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SessionStoreError';
  }
}

const ResourcesSchema = z.object({
  instanceId: z.string().optional(),
  securityGroupId: z.string().optional(),
  subnetId: z.string().optional(),
  instanceType: z.string().optional(),
  scheduleName: z.string().optional(),
  pid: z.number().int().optional(),
  targetInstanceId: z.string().optional(),
});

const ConnectionSchema = z.object({
  bastionHost: z.string(),
  bastionPort: z.number().int(),
  linuxUser: z.string(),
  hostKeyFingerprint: z.string().optional(),
});

const SessionSchema: z.ZodType<Session> = z.object({
  id: z.string().min(1),
  owner: z.string().min(1),
  ownerGroups: z.array(z.string()),
  sourceIp: z.string(),
  sourceCidr: z.string(),
  target: z.string(),
  mode: z.enum(MODES),
  reason: z.string(),
  publicKey: z.string(),
  durationMinutes: z.number(),
  linuxUser: z.string(),
  status: z.enum(SessionStatus),
  version: z.number().int(),
  createdAt: z.number(),
  updatedAt: z.number(),
  provisioningDeadline: z.number(),
  credentialExpiresAt: z.number(),
  launchSentAt: z.number().optional(),
  bastionRunningAt: z.number().optional(),
  readyAt: z.number().optional(),
  expiresAt: z.number().optional(),
  endedAt: z.number().optional(),
  endReason: z.enum(EndReason).optional(),
  failureReason: z.string().optional(),
  resources: ResourcesSchema,
  hostKey: z.object({ publicKey: z.string(), fingerprint: z.string() }).optional(),
  connection: ConnectionSchema.optional(),
  quotaKind: z.enum(QuotaKind).optional(),
  breakGlass: z.boolean().optional(),
  incidentId: z.string().optional(),
  approval: z
    .object({
      approverGroups: z.array(z.string()),
      deadline: z.number(),
      decidedBy: z.string().optional(),
      decidedAt: z.number().optional(),
      comment: z.string().optional(),
    })
    .optional(),
  extendedMinutes: z.number().optional(),
  notify: z.array(z.enum(NOTIFY_EVENTS)).optional(),
  expiryWarningAt: z.number().optional(),
  auditSeq: z.number().int().nonnegative(),
  auditHead: z.string(),
});

const ReviewSchema: z.ZodType<Review> = z.object({
  sessionId: z.string(),
  requester: z.string(),
  target: z.string(),
  incidentId: z.string(),
  reason: z.string(),
  sourceIp: z.string(),
  durationMinutes: z.number(),
  requestedAt: z.number(),
  status: z.enum(['open', 'reviewed']),
  verdict: z.enum(REVIEW_VERDICTS).optional(),
  comment: z.string().optional(),
  reviewedBy: z.string().optional(),
  reviewedAt: z.number().optional(),
});

const AuditEventSchema: z.ZodType<AuditEvent> = z.object({
  sessionId: z.string(),
  seq: z.number().int().positive(),
  at: z.number(),
  type: z.string(),
  actor: z.string(),
  status: z.string(),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  prevHash: z.string(),
  hash: z.string(),
});

const IdempotencyRecordSchema = z.object({
  subject: z.string(),
  bodyHash: z.string(),
  sessionId: z.string(),
});

const ReaperDaySchema: z.ZodType<ReaperDay> = z.object({
  day: z.string(),
  sweeps: z.number(),
  orphansFound: z.number(),
  orphansReaped: z.number(),
  expired: z.number(),
  failed: z.number(),
});

/** The quota counter as DynamoDB returns it in a cancellation reason (not unmarshalled). */
const RawQuotaSchema = z.object({ active: z.object({ N: z.string() }) });

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

function parseItem<T>(schema: z.ZodType<T>, item: unknown, what: string): T {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : '(item)';
  throw new CorruptItemError(`stored ${what} is malformed at ${where}: ${issue?.message}`, {
    cause: parsed.error,
  });
}

/** Drops undefined at every depth, so the item never depends on the client's marshall options. */
function defined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(defined) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (inner !== undefined) out[key] = defined(inner);
    }
    return out as T;
  }
  return value;
}

/**
 * When the reaper should look at a live session: the provisioning deadline until READY,
 * then the end of the window; ENDING is due from the moment it began. Terminal sessions
 * have none and so drop out of the sparse byDue index.
 */
export function dueAtFor(session: Session): number | undefined {
  switch (session.status) {
    case SessionStatus.REQUESTED:
    case SessionStatus.PROVISIONING:
      return session.provisioningDeadline;
    // The reaper refuses a request nobody approved in time.
    case SessionStatus.PENDING_APPROVAL:
      return session.approval?.deadline ?? session.provisioningDeadline;
    case SessionStatus.READY: {
      const end = session.expiresAt ?? session.provisioningDeadline;
      // An owed "expiring soon" notice makes the session due a little early, once.
      return session.expiryWarningAt !== undefined ? Math.min(end, session.expiryWarningAt) : end;
    }
    case SessionStatus.ENDING:
      // An end that was interrupted (release failed, crash) is due at once, not at expiresAt:
      // a revoked session must not wait for its window to run out before the reaper retries.
      return session.updatedAt;
    default:
      return undefined;
  }
}

type Cursor = Record<string, string | number>;
const CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,2048}$/;
const SessionKeyPart = {
  pk: z.string().startsWith('SESSION#'),
  sk: z.literal('SESSION'),
  createdAt: z.number(),
};
const OwnerCursorSchema = z.strictObject({ ...SessionKeyPart, owner: z.string() });
const CreatedCursorSchema = z.strictObject({ ...SessionKeyPart, kind: z.literal(SESSION_KIND) });

const encodeCursor = (key: Record<string, unknown> | undefined): string | undefined =>
  key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;

export class DynamoDbSessionStore implements SessionStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionDays: number;
  private readonly clock: Clock;

  constructor(options: DynamoDbSessionStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionDays = options.retentionDays;
    this.clock = options.clock;
  }

  async create(session: Session, options: CreateSessionOptions): Promise<CreateSessionResult> {
    const now = this.clock.now();
    const event = this.seal(session, 1, GENESIS_HASH, session.status, options.event, now);
    const stored: Session = { ...session, auditSeq: event.seq, auditHead: event.hash };
    const claim = options.idempotency;

    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: this.sessionItem(stored, now),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        // The counter is created on first use; the condition is what enforces the quota,
        // atomically with the session write, however many requests race.
        Update: {
          TableName: this.tableName,
          Key: itemKey.quota(session.owner, session.quotaKind),
          UpdateExpression: 'SET #subject = :subject ADD #active :one',
          // With quota 0 even a user's first session is refused: a missing counter only
          // counts as zero when zero is below the quota.
          ConditionExpression:
            options.quota > 0
              ? 'attribute_not_exists(#active) OR #active < :quota'
              : '#active < :quota',
          ExpressionAttributeNames: { '#subject': 'subject', '#active': 'active' },
          ExpressionAttributeValues: {
            ':subject': session.owner,
            ':one': 1,
            ':quota': options.quota,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      this.eventPut(event),
    ];
    if (claim) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: {
            ...itemKey.idempotency(session.owner, claim.key),
            subject: session.owner,
            bodyHash: claim.bodyHash,
            sessionId: session.id,
            [TTL_ATTRIBUTE]: Math.floor(now / 1000) + IDEMPOTENCY_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }

    if (options.review) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: this.reviewItem(options.review, now),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }

    const failed = await this.transact(items);
    if (!failed) return { session: stored, event, replayed: false };

    // Indexes follow `items`: 0 session, 1 quota, 2 event, 3 idempotency record (if any),
    // then the review (if any).
    if (claim && failed[3]) return this.replay(session, claim);
    if (failed[1]) {
      throw new QuotaExceededError(quotaMessage(options.quota, failed[1].Item, session.quotaKind));
    }
    throw new SessionStoreError(`session ${session.id} or its first audit event already exists`);
  }

  async get(id: string): Promise<Session | undefined> {
    const { Item } = await this.guard(
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: itemKey.session(id),
          ConsistentRead: true,
        }),
      ),
    );
    return Item ? parseItem(SessionSchema, Item, `session ${id}`) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<Map<string, Session>> {
    const found = new Map<string, Session>();
    const unique = [...new Set(ids)];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = unique
        .slice(start, start + BATCH_GET_LIMIT)
        .map((id) => itemKey.session(id));
      for (let attempt = 0; keys.length > 0; attempt += 1) {
        if (attempt > 0) {
          if (attempt > BATCH_GET_RETRIES)
            throw new SessionStoreError('the table kept throttling a batch read');
          await sleep(Math.random() * 50 * 2 ** attempt);
        }
        const response = await this.guard(
          this.client.send(
            new BatchGetCommand({
              // Consistent: a session written a moment ago must never look missing, or the
              // reaper would take its fresh bastion for an orphan.
              RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
            }),
          ),
        );
        for (const item of response.Responses?.[this.tableName] ?? []) {
          const session = parseItem(SessionSchema, item, 'session');
          found.set(session.id, session);
        }
        keys = (response.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<
          string,
          unknown
        >[];
      }
    }
    return found;
  }

  async transition(current: Session, next: Session, draft: AuditDraft): Promise<TransitionResult> {
    if (next.id !== current.id || next.owner !== current.owner) {
      throw new DrawbridgeError('a transition cannot change the session id or owner');
    }
    const now = this.clock.now();
    const event = this.seal(
      current,
      current.auditSeq + 1,
      current.auditHead,
      next.status,
      draft,
      now,
    );
    const stored: Session = { ...next, auditSeq: event.seq, auditHead: event.hash };
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: this.sessionItem(stored, now),
          ConditionExpression: '#status = :expectedStatus AND #version = :expectedVersion',
          ExpressionAttributeNames: { '#status': 'status', '#version': 'version' },
          ExpressionAttributeValues: {
            ':expectedStatus': current.status,
            ':expectedVersion': current.version,
          },
        },
      },
      this.eventPut(event),
    ];
    const releasesQuota = isLive(current.status) && isTerminal(next.status);
    const quotaRelease: TransactItem = {
      // DynamoDB cannot clamp at zero; a counter already at zero (lost in some earlier
      // incident) must not block the session from ending, so that case retries without it.
      Update: {
        TableName: this.tableName,
        // The counter the session took its quota from, so break-glass gives back its own.
        Key: itemKey.quota(current.owner, current.quotaKind),
        UpdateExpression: 'ADD #active :minusOne',
        ConditionExpression: '#active >= :one',
        ExpressionAttributeNames: { '#active': 'active' },
        ExpressionAttributeValues: { ':minusOne': -1, ':one': 1 },
      },
    };

    let failed = await this.transact(releasesQuota ? [...items, quotaRelease] : items);
    if (failed && !failed[0] && !failed[1] && failed[2]) failed = await this.transact(items);
    if (failed) throw new StaleSessionError();
    return { session: stored, event };
  }

  async listByOwner(owner: string, options: ListOptions): Promise<Page<Session>> {
    return this.queryPage(
      {
        IndexName: INDEX.byOwner,
        KeyConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      },
      options,
      (cursor) => OwnerCursorSchema.safeParse(cursor).data?.owner === owner,
    );
  }

  async listAll(options: ListAllOptions): Promise<Page<Session>> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const filters: string[] = [];
    if (options.target !== undefined) {
      names['#target'] = 'target';
      values[':target'] = options.target;
      filters.push('#target = :target');
    }
    if (options.status !== undefined) {
      names['#status'] = 'status';
      values[':status'] = options.status;
      filters.push('#status = :status');
    }
    const filter = filters.length ? { FilterExpression: filters.join(' AND ') } : {};
    const owner = options.owner;
    if (owner !== undefined) {
      return this.queryPage(
        {
          IndexName: INDEX.byOwner,
          KeyConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { ...names, '#owner': 'owner' },
          ExpressionAttributeValues: { ...values, ':owner': owner },
          ...filter,
        },
        options,
        (cursor) => OwnerCursorSchema.safeParse(cursor).data?.owner === owner,
      );
    }
    return this.queryPage(
      {
        IndexName: INDEX.byCreated,
        KeyConditionExpression: '#kind = :kind',
        ExpressionAttributeNames: { ...names, '#kind': 'kind' },
        ExpressionAttributeValues: { ...values, ':kind': SESSION_KIND },
        ...filter,
      },
      options,
      (cursor) => CreatedCursorSchema.safeParse(cursor).success,
    );
  }

  async listCreatedBetween(from: number, to: number, options: ListOptions): Promise<Page<Session>> {
    if (!(to > from)) return { items: [] };
    return this.queryPage(
      {
        IndexName: INDEX.byCreated,
        KeyConditionExpression: '#kind = :kind AND #createdAt BETWEEN :from AND :last',
        ExpressionAttributeNames: { '#kind': 'kind', '#createdAt': 'createdAt' },
        // createdAt is whole milliseconds: [from, to) is BETWEEN from AND to - 1.
        ExpressionAttributeValues: { ':kind': SESSION_KIND, ':from': from, ':last': to - 1 },
      },
      options,
      (cursor) => {
        const parsed = CreatedCursorSchema.safeParse(cursor);
        return parsed.success && parsed.data.createdAt >= from && parsed.data.createdAt < to;
      },
    );
  }

  async recordReaperSweep(at: number, sweep: ReaperSweep): Promise<void> {
    const day = utcDay(at);
    await this.guard(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKey.reaperDay(day),
          // ADD creates the counters on the day's first sweep; concurrent sweeps cannot lose one.
          UpdateExpression:
            'SET #day = :day, #ttl = :ttl ADD #sweeps :one, #found :found, #reaped :reaped, #expired :expired, #failed :failed',
          ExpressionAttributeNames: {
            '#day': 'day',
            '#ttl': TTL_ATTRIBUTE,
            '#sweeps': 'sweeps',
            '#found': 'orphansFound',
            '#reaped': 'orphansReaped',
            '#expired': 'expired',
            '#failed': 'failed',
          },
          ExpressionAttributeValues: {
            ':day': day,
            ':ttl': Math.floor(at / 1000) + this.retentionDays * DAY_SECONDS,
            ':one': 1,
            ':found': sweep.orphansFound,
            ':reaped': sweep.orphansReaped,
            ':expired': sweep.expired,
            ':failed': sweep.failed,
          },
        }),
      ),
    );
  }

  async listReaperDays(fromDay: string, toDay: string): Promise<ReaperDay[]> {
    const days: ReaperDay[] = [];
    if (toDay < fromDay) return days;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.guard(
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :first AND :last',
            ExpressionAttributeValues: {
              ':pk': itemKey.reaperDay(fromDay).pk,
              ':first': itemKey.reaperDay(fromDay).sk,
              ':last': itemKey.reaperDay(toDay).sk,
            },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        days.push(parseItem(ReaperDaySchema, item, 'reaper day'));
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return days;
  }

  async listDue(now: number, limit: number): Promise<Session[]> {
    const due: Session[] = [];
    if (!(limit >= 1)) return due;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.guard(
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: INDEX.byDue,
            KeyConditionExpression: '#dueShard = :due AND #dueAt <= :now',
            ExpressionAttributeNames: { '#dueShard': 'dueShard', '#dueAt': 'dueAt' },
            ExpressionAttributeValues: { ':due': DUE_SHARD, ':now': now },
            Limit: limit - due.length,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const session = parseItem(SessionSchema, item, 'session');
        // The index is eventually consistent; never hand the reaper a session already over.
        if (isLive(session.status)) due.push(session);
      }
      start = page.LastEvaluatedKey;
    } while (start && due.length < limit);
    return due;
  }

  async findByInstanceId(instanceId: string): Promise<Session | undefined> {
    const page = await this.guard(
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX.byInstance,
          KeyConditionExpression: '#instanceId = :instanceId',
          ExpressionAttributeNames: { '#instanceId': 'instanceId' },
          ExpressionAttributeValues: { ':instanceId': instanceId },
        }),
      ),
    );
    // The index lags; confirm each hit with a consistent read of the session itself.
    for (const item of page.Items ?? []) {
      const id = parseItem(SessionSchema, item, 'session').id;
      const session = await this.get(id);
      if (session?.resources.instanceId === instanceId) return session;
    }
    return undefined;
  }

  async listEvents(sessionId: string): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.guard(
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :event)',
            ExpressionAttributeValues: { ':pk': itemKey.session(sessionId).pk, ':event': 'EVENT#' },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        events.push(parseItem(AuditEventSchema, item, `audit event of ${sessionId}`));
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return events;
  }

  async getReview(sessionId: string): Promise<Review | undefined> {
    const { Item } = await this.guard(
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: itemKey.review(sessionId),
          ConsistentRead: true,
        }),
      ),
    );
    return Item ? parseItem(ReviewSchema, Item, `review ${sessionId}`) : undefined;
  }

  async listReviews(options: ListReviewsOptions): Promise<Page<Review>> {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new ValidationError('limit must be a positive integer');
    }
    const kind = REVIEW_KIND[options.status];
    const start = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    if (
      start &&
      (start.kind !== kind || typeof start.pk !== 'string' || !start.pk.startsWith('REVIEW#'))
    ) {
      throw new ValidationError('invalid cursor');
    }
    const before = options.requestedBefore;
    const page = await this.guard(
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX.byCreated,
          KeyConditionExpression:
            before === undefined ? '#kind = :kind' : '#kind = :kind AND #createdAt < :before',
          ExpressionAttributeNames: {
            '#kind': 'kind',
            ...(before === undefined ? {} : { '#createdAt': 'createdAt' }),
          },
          ExpressionAttributeValues: {
            ':kind': kind,
            ...(before === undefined ? {} : { ':before': before }),
          },
          ScanIndexForward: false,
          Limit: options.limit,
          ExclusiveStartKey: start,
        }),
      ),
    );
    const items = (page.Items ?? []).map((item) => parseItem(ReviewSchema, item, 'review'));
    const cursor = encodeCursor(page.LastEvaluatedKey);
    return cursor ? { items, cursor } : { items };
  }

  async closeReview(review: Review): Promise<Review> {
    const now = this.clock.now();
    const failed = await this.transact([
      {
        Put: {
          TableName: this.tableName,
          Item: this.reviewItem(review, now),
          // Two admins reviewing at once: the second one is told, not silently overwritten.
          ConditionExpression: '#status = :open',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':open': 'open' },
        },
      },
    ]);
    if (failed) throw new ConflictError('this review is already closed (or does not exist)');
    return review;
  }

  private reviewItem(review: Review, now: number): Item {
    const item: Item = {
      ...defined(review),
      ...itemKey.review(review.sessionId),
      kind: REVIEW_KIND[review.status],
      createdAt: review.requestedAt,
    };
    // Open reviews stay until someone reviews them; reviewed ones age out like sessions.
    if (review.status === 'reviewed') {
      item[TTL_ATTRIBUTE] =
        Math.floor((review.reviewedAt ?? now) / 1000) + this.retentionDays * DAY_SECONDS;
    }
    return item;
  }

  private seal(
    session: Session,
    seq: number,
    prevHash: string,
    status: string,
    draft: AuditDraft,
    now: number,
  ): AuditEvent {
    return sealEvent({
      sessionId: session.id,
      seq,
      at: now,
      type: draft.type,
      actor: draft.actor,
      status,
      ...(draft.detail ? { detail: draft.detail } : {}),
      prevHash,
    });
  }

  private sessionItem(session: Session, now: number): Item {
    const item: Item = { ...defined(session), ...itemKey.session(session.id), kind: SESSION_KIND };
    const dueAt = dueAtFor(session);
    if (dueAt !== undefined) {
      item.dueShard = DUE_SHARD;
      item.dueAt = dueAt;
    }
    if (session.resources.instanceId) item.instanceId = session.resources.instanceId;
    if (isTerminal(session.status)) {
      const endedAt = session.endedAt ?? now;
      item[TTL_ATTRIBUTE] = Math.floor(endedAt / 1000) + this.retentionDays * DAY_SECONDS;
    }
    return item;
  }

  private eventPut(event: AuditEvent): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: { ...defined(event), ...itemKey.event(event.sessionId, event.seq) },
        // The chain is append-only: a second writer of the same seq loses.
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /**
   * Runs one transaction. Returns undefined on success, or, when DynamoDB cancelled it on
   * conditions, which items' conditions failed (index → the reason). Conflicts with another
   * transaction in flight are retried; every other failure becomes a SessionStoreError.
   */
  private async transact(
    items: TransactItem[],
  ): Promise<Array<{ Item?: Record<string, unknown> } | undefined> | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return undefined;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw this.translate(error);
        const reasons = error.CancellationReasons ?? [];
        const failed = items.map((_, index) =>
          reasons[index]?.Code === 'ConditionalCheckFailed'
            ? { ...(reasons[index]?.Item ? { Item: reasons[index]?.Item } : {}) }
            : undefined,
        );
        if (failed.some(Boolean)) return failed;
        const conflict = reasons.some((reason) => reason.Code === 'TransactionConflict');
        if (!conflict) throw this.translate(error);
        if (attempt >= CONFLICT_ATTEMPTS) {
          throw new ConflictError('too many changes to this session at once; retry', {
            cause: error,
          });
        }
        // Full jitter, so racing writers do not collide again in lockstep.
        await sleep(Math.random() * 20 * 2 ** attempt);
      }
    }
  }

  private async replay(session: Session, claim: IdempotencyClaim): Promise<CreateSessionResult> {
    const { Item } = await this.guard(
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: itemKey.idempotency(session.owner, claim.key),
          ConsistentRead: true,
        }),
      ),
    );
    if (!Item) {
      // It expired between the cancelled write and this read: the caller may simply retry.
      throw new ConflictError('the Idempotency-Key record changed while in use; retry');
    }
    const record = parseItem(IdempotencyRecordSchema, Item, 'idempotency record');
    if (record.subject !== session.owner || record.bodyHash !== claim.bodyHash) {
      throw new IdempotencyConflictError();
    }
    const existing = await this.get(record.sessionId);
    if (!existing || existing.owner !== session.owner) {
      throw new CorruptItemError(
        `idempotency record points at missing session ${record.sessionId}`,
      );
    }
    return { session: existing, replayed: true };
  }

  private async queryPage(
    query: Omit<QueryCommandInput, 'TableName'>,
    options: ListOptions,
    cursorFits: (cursor: Cursor) => boolean,
  ): Promise<Page<Session>> {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new ValidationError('limit must be a positive integer');
    }
    const start = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    if (start && !cursorFits(start)) throw new ValidationError('invalid cursor');
    let page: QueryCommandOutput;
    try {
      page = await this.client.send(
        new QueryCommand({
          ...query,
          TableName: this.tableName,
          ScanIndexForward: false,
          Limit: options.limit,
          ExclusiveStartKey: start,
        }),
      );
    } catch (error) {
      // A well-formed cursor can still name a key DynamoDB refuses to start from.
      if (start && error instanceof Error && error.name === 'ValidationException') {
        throw new ValidationError('invalid cursor');
      }
      throw this.translate(error);
    }
    const items = (page.Items ?? []).map((item) => parseItem(SessionSchema, item, 'session'));
    const cursor = encodeCursor(page.LastEvaluatedKey);
    return cursor ? { items, cursor } : { items };
  }

  private async guard<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (error) {
      throw this.translate(error);
    }
  }

  private translate(error: unknown): DrawbridgeError {
    if (error instanceof DrawbridgeError) return error;
    const name = error instanceof Error ? error.name : 'unknown error';
    return new SessionStoreError(`DynamoDB request failed (${name})`, { cause: error });
  }
}

function decodeCursor(cursor: string): Cursor {
  if (!CURSOR_PATTERN.test(cursor)) throw new ValidationError('invalid cursor');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('invalid cursor');
  }
  const parsed = z.record(z.string(), z.union([z.string(), z.number()])).safeParse(value);
  if (!parsed.success) throw new ValidationError('invalid cursor');
  return parsed.data;
}

function quotaMessage(
  quota: number,
  counter: Record<string, unknown> | undefined,
  kind: QuotaKind = 'standard',
): string {
  if (kind === QuotaKind.breakGlass) {
    return `you already have ${quota} live break-glass session${quota === 1 ? '' : 's'}, the most this policy allows; end one first`;
  }
  if (quota <= 0) return 'this policy allows you no live sessions';
  const raw = RawQuotaSchema.safeParse(counter);
  const active = raw.success ? Number(raw.data.active.N) : quota;
  const count = Number.isFinite(active) ? Math.max(active, quota) : quota;
  return `you already have ${count} live session${count === 1 ? '' : 's'}, the most this policy allows; end one first`;
}
