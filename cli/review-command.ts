import * as z from 'zod/mini';
import { SESSION_ID_PATTERN } from '../lib/domain/session.ts';
import { DECISION_FLAGS } from './api-words.ts';
import type { Context } from './context.ts';
import { ExitCode, NotFoundError, UsageError } from './errors.ts';
import { clean, json, relativeTime, table } from './format.ts';

const ReviewView = z.looseObject({
  sessionId: z.string().check(z.regex(SESSION_ID_PATTERN, 'is not a session id')),
  status: z.string(),
  requester: z.string(),
  target: z.string(),
  incidentId: z.string(),
  reason: z.string(),
  requestedAt: z.optional(z.string()),
  verdict: z.optional(z.string()),
  comment: z.optional(z.string()),
  reviewedBy: z.optional(z.string()),
});
const ReviewPage = z.looseObject({ items: z.array(ReviewView), cursor: z.optional(z.string()) });

const STATUSES = ['open', 'reviewed', 'all'];
const VERDICTS = ['appropriate', 'inappropriate'];

/** `drawbridge reviews [--status open|reviewed|all]`: break-glass reviews, open ones first (admins). */
export async function reviews(context: Context): Promise<number> {
  const status = context.string('status')?.toLowerCase() ?? 'all';
  if (!STATUSES.includes(status))
    throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
  const limit = context.string('limit');
  if (limit !== undefined && !/^(100|[1-9]\d?)$/.test(limit)) {
    throw new UsageError('--limit must be a whole number from 1 to 100');
  }
  const query = new URLSearchParams({ status });
  if (limit) query.set('limit', limit);
  const cursor = context.string('cursor');
  if (cursor) query.set('cursor', cursor);
  const client = await context.client();
  const { data: page } = await client.request('GET', `/reviews?${query}`, ReviewPage, {
    retries: 2,
  });
  if (context.json) {
    context.out(json(page));
    return ExitCode.ok;
  }
  if (page.items.length === 0) {
    context.out(status === 'reviewed' ? 'no reviewed break-glass sessions\n' : 'no open reviews\n');
    return ExitCode.ok;
  }
  const now = Date.now();
  context.out(
    table(
      ['SESSION', 'STATUS', 'WHO', 'TARGET', 'INCIDENT', 'WHEN', 'VERDICT', 'REASON'],
      page.items.map((review) => [
        review.sessionId,
        clean(review.status, 16),
        clean(review.requester, 32),
        clean(review.target, 64),
        clean(review.incidentId, 48),
        relativeTime(review.requestedAt, now),
        review.verdict
          ? `${clean(review.verdict, 16)} (${clean(review.reviewedBy ?? '?', 32)})`
          : '-',
        clean(review.reason, 40),
      ]),
    ),
  );
  if (page.cursor)
    context.out(`more: drawbridge reviews --status ${status} --cursor ${page.cursor}\n`);
  return ExitCode.ok;
}

/** `drawbridge review <id> --verdict appropriate|inappropriate --comment "..."` (admins). */
export async function review(context: Context): Promise<number> {
  const id = context.positionals[0] ?? '';
  if (!SESSION_ID_PATTERN.test(id)) throw new NotFoundError(`no review ${clean(id, 40)}`);
  const verdict = context.string('verdict');
  if (!verdict || !VERDICTS.includes(verdict)) {
    throw new UsageError(`--verdict must be one of ${VERDICTS.join(', ')}`);
  }
  const comment = context.string('comment');
  if (!comment) throw new UsageError('--comment is required: say what the review found');
  const client = await context.client();
  const { data: closed } = await client.request(
    'POST',
    `/reviews/${encodeURIComponent(id)}`,
    ReviewView,
    { body: { verdict, comment }, flags: DECISION_FLAGS },
  );
  if (context.json) {
    context.out(json(closed));
    return ExitCode.ok;
  }
  context.out(
    `review of ${closed.sessionId} (${clean(closed.incidentId, 48)}) closed: ${clean(closed.verdict ?? verdict, 16)}\n`,
  );
  return ExitCode.ok;
}
