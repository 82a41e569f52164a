import { approvedTimes, assertMayDecide, isApproverFor } from '../domain/approval.ts';
import { ConflictError, ProvisioningUnavailableError } from '../domain/errors.ts';
import { requireFreshMfa } from '../domain/mfa.ts';
import { findTarget } from '../domain/policy.ts';
import type { Identity, Session } from '../domain/session.ts';
import type { AppDeps } from './deps.ts';
import { applyEvent } from './record.ts';
import { loadVisibleSession } from './sessions-query.ts';

type DecideDeps = Pick<
  AppDeps,
  'policy' | 'store' | 'queue' | 'auditLog' | 'clock' | 'logger' | 'metrics'
>;

const MAX_COMMENT_LENGTH = 300;

/**
 * A pending request as an approver sees it. Approvers are neither its owner nor (usually)
 * admins, so they may see a session of a target they approve for; anyone else gets the same
 * 404 as for an id that does not exist.
 */
export function loadForDecision(
  deps: Pick<AppDeps, 'policy' | 'store'>,
  identity: Identity,
  id: string,
): Promise<Session> {
  return loadVisibleSession(deps, identity, id, (session) =>
    isApproverFor(session, identity, findTarget(deps.policy, session.target)),
  );
}

async function decisionContext(deps: DecideDeps, identity: Identity, id: string) {
  const session = await loadForDecision(deps, identity, id);
  const target = findTarget(deps.policy, session.target);
  assertMayDecide(session, identity, target);
  if (!target) throw new ConflictError(`target '${session.target}' is no longer in the policy`);
  // Approving opens a door: it takes the same fresh second factor the target asks of its users.
  requireFreshMfa(identity, target.requireMfa, deps.clock.now(), `approving for '${target.name}'`);
  return { session, target };
}

/**
 * POST /sessions/{id}/approve: PENDING_APPROVAL → REQUESTED, with the provisioning deadline
 * and the key's bound counted from now (the window starts at READY, not at the request), then
 * hand it to the provisioner exactly as an unapproved request.
 */
export async function approveSession(
  deps: DecideDeps,
  identity: Identity,
  id: string,
  comment?: string,
): Promise<Session> {
  const { session, target } = await decisionContext(deps, identity, id);
  const now = deps.clock.now();
  const times = approvedTimes(deps.policy, target, session, now);
  const note = comment?.slice(0, MAX_COMMENT_LENGTH);
  const approved = await applyEvent(
    deps,
    session,
    { type: 'approve', by: identity.subject, ...(note ? { comment: note } : {}), ...times },
    {
      type: 'approved',
      actor: identity.subject,
      detail: {
        provisioningDeadline: new Date(times.provisioningDeadline).toISOString(),
        ...(note ? { comment: note } : {}),
      },
    },
  );
  try {
    await deps.queue.enqueue(approved.id);
  } catch (error) {
    // As for a fresh request: nothing was launched, so record FAILED (which gives the quota
    // back) rather than leave an approved session waiting for a deadline nobody watches.
    deps.logger.error('enqueue after approval failed; failing the session', {
      sessionId: approved.id,
      error,
    });
    const reason = 'approved, but provisioning could not start; request again';
    await applyEvent(
      deps,
      approved,
      { type: 'fail', reason },
      { actor: 'drawbridge', detail: { reason } },
    );
    throw new ProvisioningUnavailableError({ cause: error });
  }
  return approved;
}

/** POST /sessions/{id}/deny: PENDING_APPROVAL → ENDED (denied), quota given back. */
export async function denySession(
  deps: DecideDeps,
  identity: Identity,
  id: string,
  comment?: string,
): Promise<Session> {
  const { session } = await decisionContext(deps, identity, id);
  const note = comment?.slice(0, MAX_COMMENT_LENGTH);
  return applyEvent(
    deps,
    session,
    { type: 'deny', by: identity.subject, ...(note ? { comment: note } : {}) },
    { type: 'denied', actor: identity.subject, detail: { ...(note ? { comment: note } : {}) } },
  );
}

/** The reaper: nobody approved before the deadline, so the request is refused (FAILED). */
export async function expireApproval(
  deps: Pick<AppDeps, 'store' | 'auditLog' | 'clock'>,
  session: Session,
): Promise<Session> {
  const minutes = session.approval
    ? Math.round((session.approval.deadline - session.createdAt) / 60_000)
    : 0;
  // Nothing was launched for a pending request: no release, just the record.
  const reason = `no approver answered within ${minutes} minutes; request again if still needed`;
  return applyEvent(
    deps,
    session,
    { type: 'fail', reason },
    { type: 'approval-expired', actor: 'reaper', detail: { reason } },
  );
}
