import { isApproverFor } from '../domain/approval.ts';
import { findTarget } from '../domain/policy.ts';
import { type Identity, type Session, SessionStatus } from '../domain/session.ts';
import type { Page } from '../ports/session-store.ts';
import type { AppDeps } from './deps.ts';

type QueueDeps = Pick<AppDeps, 'policy' | 'store'>;

export interface ListApprovalsInput {
  limit: number;
  cursor?: string | undefined;
}

/** Would `assertMayDecide` let this person decide on this request? Read-only, for listing. */
export const waitsFor = (session: Session, identity: Identity, deps: QueueDeps): boolean =>
  session.status === SessionStatus.PENDING_APPROVAL &&
  session.approval !== undefined &&
  session.owner !== identity.subject &&
  isApproverFor(session, identity, findTarget(deps.policy, session.target));

/**
 * GET /approvals: the pending requests this person may decide on (an approver group of the
 * target, never their own), newest first, whether or not they are an admin. Read-only: it
 * shows exactly what approve/deny would accept, so an approver who is no admin has a queue.
 *
 * It pages through every PENDING_APPROVAL session with the admin listing's query (the byCreated
 * index, filtered on status: a Query, never a Scan) and keeps the caller's. A page may therefore
 * hold fewer than `limit` items, even none, while a cursor says there is more to read.
 */
export async function listApprovals(
  deps: QueueDeps,
  identity: Identity,
  input: ListApprovalsInput,
): Promise<Page<Session>> {
  const page = await deps.store.listAll({
    status: SessionStatus.PENDING_APPROVAL,
    limit: input.limit,
    ...(input.cursor ? { cursor: input.cursor } : {}),
  });
  return {
    items: page.items.filter((session) => waitsFor(session, identity, deps)),
    ...(page.cursor ? { cursor: page.cursor } : {}),
  };
}
