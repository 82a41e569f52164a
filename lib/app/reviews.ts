import { closeReview, type Review, type ReviewDecision } from '../domain/break-glass.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { isAdmin } from '../domain/policy.ts';
import { type Identity, isSessionId } from '../domain/session.ts';
import type { Page } from '../ports/session-store.ts';
import type { AppDeps } from './deps.ts';

type ReviewDeps = Pick<AppDeps, 'policy' | 'store' | 'clock' | 'logger'>;

export type ReviewFilter = 'open' | 'reviewed' | 'all';

export interface ListReviewsInput {
  status: ReviewFilter;
  limit: number;
  cursor?: string | undefined;
}

function requireAdmin(deps: ReviewDeps, identity: Identity): void {
  if (!isAdmin(deps.policy, identity)) {
    throw new ForbiddenError('only members of the admin group may see and close reviews');
  }
}

// The 'all' listing walks open reviews first, then reviewed ones; its cursor says which
// phase it is in and carries the store's cursor for that phase.
interface ListCursor {
  phase: Review['status'];
  cursor?: string;
}

const encode = (cursor: ListCursor): string =>
  Buffer.from(JSON.stringify(cursor)).toString('base64url');

function decode(text: string): ListCursor {
  try {
    if (!/^[A-Za-z0-9_-]{1,4096}$/.test(text)) throw new Error('shape');
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) throw new Error('shape');
    const { phase, cursor } = value as Record<string, unknown>;
    if (phase !== 'open' && phase !== 'reviewed') throw new Error('phase');
    if (cursor !== undefined && typeof cursor !== 'string') throw new Error('cursor');
    return { phase, ...(cursor !== undefined ? { cursor } : {}) };
  } catch {
    throw new ValidationError('invalid cursor');
  }
}

/** GET /reviews: break-glass reviews for admins, open ones first, newest first within each. */
export async function listReviews(
  deps: ReviewDeps,
  identity: Identity,
  input: ListReviewsInput,
): Promise<Page<Review>> {
  requireAdmin(deps, identity);
  const phases: Review['status'][] = input.status === 'all' ? ['open', 'reviewed'] : [input.status];
  let position: ListCursor = input.cursor ? decode(input.cursor) : { phase: phases[0] ?? 'open' };
  if (!phases.includes(position.phase)) throw new ValidationError('invalid cursor');
  const items: Review[] = [];
  for (;;) {
    const page = await deps.store.listReviews({
      status: position.phase,
      limit: input.limit - items.length,
      ...(position.cursor ? { cursor: position.cursor } : {}),
    });
    items.push(...page.items);
    if (page.cursor) {
      position = { phase: position.phase, cursor: page.cursor };
      if (items.length >= input.limit) return { items, cursor: encode(position) };
      continue;
    }
    const next = phases[phases.indexOf(position.phase) + 1];
    if (!next) return { items };
    position = { phase: next };
    if (items.length >= input.limit) return { items, cursor: encode(position) };
  }
}

/** POST /reviews/{id}: an admin who is not the responder closes the review with a verdict. */
export async function reviewSession(
  deps: ReviewDeps,
  identity: Identity,
  sessionId: string,
  decision: ReviewDecision,
): Promise<Review> {
  requireAdmin(deps, identity);
  if (!isSessionId(sessionId)) throw new NotFoundError('review not found');
  const review = await deps.store.getReview(sessionId);
  if (!review) throw new NotFoundError('review not found');
  const closed = closeReview(review, decision, identity.subject, deps.clock.now());
  const stored = await deps.store.closeReview(closed);
  deps.logger.info('break-glass review closed', {
    correlation_id: sessionId,
    verdict: closed.verdict,
    reviewedBy: identity.subject,
  });
  return stored;
}

/** Open reviews of break-glass used more than `days` ago (for GET /usage). */
export async function staleOpenReviews(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  days: number,
  limit = 100,
): Promise<Page<Review>> {
  return deps.store.listReviews({
    status: 'open',
    limit,
    requestedBefore: deps.clock.now() - days * 86_400_000,
  });
}

export function reviewView(review: Review) {
  const iso = (ms: number | undefined) =>
    ms === undefined ? undefined : new Date(ms).toISOString();
  return {
    sessionId: review.sessionId,
    status: review.status,
    requester: review.requester,
    target: review.target,
    incidentId: review.incidentId,
    reason: review.reason,
    sourceIp: review.sourceIp,
    durationMinutes: review.durationMinutes,
    requestedAt: iso(review.requestedAt),
    verdict: review.verdict,
    comment: review.comment,
    reviewedBy: review.reviewedBy,
    reviewedAt: iso(review.reviewedAt),
    links: { session: `/sessions/${review.sessionId}`, self: `/reviews/${review.sessionId}` },
  };
}
