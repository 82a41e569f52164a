import { ForbiddenError, IllegalTransitionError } from './errors.ts';
import { credentialWindowMinutes } from './extension.ts';
import type { Policy, Target } from './policy.ts';
import { type Approval, type Identity, type Session, SessionStatus } from './session.ts';

/** The approval a request to this target waits for, or undefined if it needs none. */
export function approvalFor(target: Target, now: number): Approval | undefined {
  if (!target.approval) return undefined;
  return {
    approverGroups: [...target.approval.approverGroups],
    deadline: now + target.approval.timeoutMinutes * 60_000,
  };
}

/**
 * Who may decide on a pending request: a member of the approver groups (those of the target
 * as the policy says now, or as recorded on the request if the target no longer asks for
 * approval), and never the requester, even if they are an approver themselves.
 */
export function assertMayDecide(
  session: Session,
  identity: Identity,
  target: Target | undefined,
): void {
  if (session.status !== SessionStatus.PENDING_APPROVAL || !session.approval) {
    throw new IllegalTransitionError(`the session is ${session.status}, not waiting for approval`);
  }
  if (identity.subject === session.owner) {
    throw new ForbiddenError('you cannot approve or deny your own request');
  }
  const groups = target?.approval?.approverGroups ?? session.approval.approverGroups;
  if (!groups.some((group) => identity.groups.includes(group))) {
    throw new ForbiddenError(
      `only members of ${groups.join(', ')} may approve requests for target '${session.target}'`,
    );
  }
}

/** May this person see the pending request at all (to approve it)? */
export const isApproverFor = (session: Session, identity: Identity, target?: Target): boolean =>
  (target?.approval?.approverGroups ?? session.approval?.approverGroups ?? []).some((group) =>
    identity.groups.includes(group),
  );

/**
 * The window starts at READY, so an approved request gets its provisioning deadline and its
 * key's bound from the moment of approval, exactly as an unapproved request does at request.
 */
export function approvedTimes(
  policy: Policy,
  target: Target,
  session: Session,
  now: number,
): { provisioningDeadline: number; credentialExpiresAt: number } {
  const provisioningDeadline = now + policy.provisioningDeadlineMinutes * 60_000;
  return {
    provisioningDeadline,
    credentialExpiresAt:
      provisioningDeadline +
      credentialWindowMinutes(target, session.durationMinutes, target.maxDurationMinutes) * 60_000,
  };
}
