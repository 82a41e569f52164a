import { defaultPricing } from '../domain/cost.ts';
import { ForbiddenError } from '../domain/errors.ts';
import { isAdmin, type Policy } from '../domain/policy.ts';
import type { Identity } from '../domain/session.ts';
import {
  type GroupBy,
  maxSessionSpanMs,
  UsageAccumulator,
  type UsageReport,
  utcDay,
} from '../domain/usage.ts';
import type { AppDeps } from './deps.ts';

type UsageDeps = Pick<AppDeps, 'policy' | 'store' | 'clock'>;

export interface UsageRequest {
  /** epoch ms, inclusive */
  from: number;
  /** epoch ms, exclusive */
  to: number;
  groupBy: GroupBy;
}

/** Sessions per Query page: about a megabyte of items, DynamoDB's own page limit. */
const PAGE_SIZE = 1_000;
/**
 * The time range is read as this many contiguous slices at once: a Query's pages come one
 * after another, slices do not wait for each other (bench/usage.ts has the figures).
 */
const READ_SLICES = 8;

export const mayReadUsage = (policy: Policy, identity: Identity): boolean =>
  isAdmin(policy, identity) ||
  (policy.finopsGroup !== undefined && identity.groups.includes(policy.finopsGroup));

/**
 * GET /usage: sessions, bastion time, estimated cost, overstay, orphans and break-glass over
 * [from, to). Reads sessions by creation time from the byCreated index, starting early enough
 * (maxSessionSpanMs) to see every session that could still have had a bastion at `from`; the
 * accumulator counts each for its part inside the window. Never a Scan: the cost grows with
 * the sessions in (and just before) the window, not with the table.
 */
export async function usageReport(
  deps: UsageDeps,
  identity: Identity,
  request: UsageRequest,
): Promise<UsageReport> {
  const { policy, store } = deps;
  if (!mayReadUsage(policy, identity)) {
    throw new ForbiddenError('only members of the admin or finops group may read usage');
  }
  const now = deps.clock.now();
  const usage = new UsageAccumulator({
    window: { from: request.from, to: request.to, now },
    groupBy: request.groupBy,
    policy,
    pricing: policy.pricing ?? defaultPricing(),
    pricingSource: policy.pricing ? 'policy' : 'default',
  });

  const readFrom = request.from - maxSessionSpanMs(policy);
  const readTo = Math.min(request.to, now + 1);
  await Promise.all(
    slices(readFrom, readTo, READ_SLICES).map(async ([from, to]) => {
      let cursor: string | undefined;
      do {
        const page = await store.listCreatedBetween(from, to, {
          limit: PAGE_SIZE,
          ...(cursor ? { cursor } : {}),
        });
        for (const session of page.items) usage.add(session);
        cursor = page.cursor;
      } while (cursor);
    }),
  );

  for (const day of await store.listReaperDays(utcDay(request.from), utcDay(request.to - 1))) {
    usage.addReaperDay(day);
  }
  usage.setOpenReviews(await countOpenReviews(deps));
  return usage.report();
}

/** [from, to) cut into `count` contiguous whole-millisecond slices (fewer if it is shorter). */
export function slices(from: number, to: number, count: number): [number, number][] {
  const out: [number, number][] = [];
  const step = Math.max(1, Math.ceil((to - from) / count));
  for (let start = from; start < to; start += step) out.push([start, Math.min(to, start + step)]);
  return out;
}

/** Break-glass reviews still waiting for an admin, however old: security wants all of them. */
async function countOpenReviews(deps: UsageDeps): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.store.listReviews({
      status: 'open',
      limit: PAGE_SIZE,
      ...(cursor ? { cursor } : {}),
    });
    count += page.items.length;
    cursor = page.cursor;
  } while (cursor);
  return count;
}
