import { approvalFor } from './approval.ts';
import { decideBreakGlass } from './break-glass.ts';
import { ValidationError } from './errors.ts';
import { credentialWindowMinutes } from './extension.ts';
import { requireFreshMfa } from './mfa.ts';
import { type AccessDecision, decideAccess, type Policy } from './policy.ts';
import type { Approval, Identity, NotifyEvent, QuotaKind } from './session.ts';

export interface GrantRequest {
  target: string;
  durationMinutes?: number | undefined;
  sourceIp: string;
  breakGlass?: boolean | undefined;
  incidentId?: string | undefined;
}

/** Everything policy decides about a new session, beyond the key. */
export interface Grant extends AccessDecision {
  quotaKind: QuotaKind;
  /** live sessions allowed on that counter */
  quota: number;
  /** minutes from READY the key's bound (layer 1) allows, extensions included */
  credentialMinutes: number;
  breakGlass?: { incidentId: string };
  approval?: Approval;
  notify?: NotifyEvent[];
}

/**
 * Who may open what, for how long, and under which conditions: break-glass (its own quota and
 * maximum, no approval) or the normal path (groups, source range, fresh MFA, approval).
 * Throws the 4xx that names the rule that failed.
 */
export function decideGrant(
  policy: Policy,
  identity: Identity,
  request: GrantRequest,
  now: number,
): Grant {
  if (request.breakGlass) {
    if (request.incidentId === undefined) {
      throw new ValidationError('a break-glass request needs an incidentId, e.g. INC-123');
    }
    const decision = decideBreakGlass(
      policy,
      identity,
      { ...request, incidentId: request.incidentId },
      now,
    );
    return {
      target: decision.target,
      mode: decision.mode,
      durationMinutes: decision.durationMinutes,
      quotaKind: 'break-glass',
      quota: policy.breakGlass?.quota ?? 0,
      credentialMinutes: credentialWindowMinutes(
        decision.target,
        decision.durationMinutes,
        decision.maxMinutes,
      ),
      breakGlass: { incidentId: decision.incidentId },
      ...(policy.breakGlass?.notify.length ? { notify: [...policy.breakGlass.notify] } : {}),
    };
  }
  if (request.incidentId !== undefined) {
    throw new ValidationError('incidentId goes with breakGlass: true only');
  }
  const decision = decideAccess(policy, identity, request);
  const { target } = decision;
  requireFreshMfa(identity, target.requireMfa, now, `target '${target.name}'`);
  const approval = approvalFor(target, now);
  return {
    ...decision,
    quotaKind: 'standard',
    quota: policy.quota.activeSessionsPerUser,
    credentialMinutes: credentialWindowMinutes(
      target,
      decision.durationMinutes,
      target.maxDurationMinutes,
    ),
    ...(approval ? { approval } : {}),
    ...(target.notify?.length ? { notify: [...target.notify] } : {}),
  };
}
