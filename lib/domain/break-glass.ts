import { ConflictError, ForbiddenError, ValidationError } from './errors.ts';
import { requireFreshMfa } from './mfa.ts';
import { cidrContains, parseCidr } from './network.ts';
import { type AccessDecision, findTarget, type Policy, unknownTarget } from './policy.ts';
import type { Identity, Session } from './session.ts';

/**
 * An incident reference as ticketing and paging tools write them: a short prefix, a dash and
 * an id, e.g. INC-123, SEC-2026-0042, PD-Q1ABC2. Bounded and plain, because it goes into
 * alerts, chat and audit events verbatim.
 */
export const INCIDENT_ID_PATTERN = /^[A-Z][A-Z0-9]{1,15}(?:-[A-Z0-9]{1,20}){1,3}$/;
export const MAX_INCIDENT_ID_LENGTH = 48;

/** Upper-cases and checks an incident id; throws a 400 that shows the expected form. */
export function parseIncidentId(value: string): string {
  const id = value.trim().toUpperCase();
  if (id.length > MAX_INCIDENT_ID_LENGTH || !INCIDENT_ID_PATTERN.test(id)) {
    throw new ValidationError(
      'incidentId must look like INC-123 (a prefix of letters and digits, a dash, and the id)',
    );
  }
  return id;
}

export const isBreakGlassMember = (policy: Policy, identity: Identity): boolean =>
  policy.breakGlass?.groups.some((group) => identity.groups.includes(group)) ?? false;

export interface BreakGlassRequest {
  target: string;
  durationMinutes?: number | undefined;
  sourceIp: string;
  incidentId: string;
}

export interface BreakGlassDecision extends AccessDecision {
  incidentId: string;
  /** the shorter of the break-glass and the target maximum */
  maxMinutes: number;
}

/**
 * Break-glass: members of the break-glass groups may open any target break-glass covers, even
 * one their groups may not normally open, with no approval wait. Source ranges and the MFA
 * requirement still apply; the window is capped by the (shorter) break-glass maximum.
 */
export function decideBreakGlass(
  policy: Policy,
  identity: Identity,
  request: BreakGlassRequest,
  now: number,
): BreakGlassDecision {
  const breakGlass = policy.breakGlass;
  if (!breakGlass) throw new ForbiddenError('this deployment has no break-glass access');
  // Membership first: nothing about targets is revealed to someone who may not break glass.
  if (!isBreakGlassMember(policy, identity)) {
    throw new ForbiddenError('only members of the break-glass groups may break glass');
  }
  const target = findTarget(policy, request.target);
  if (!target) {
    throw unknownTarget(
      request.target,
      policy.targets.filter((t) => !breakGlass.targets || breakGlass.targets.includes(t.name)),
    );
  }
  if (breakGlass.targets && !breakGlass.targets.includes(target.name)) {
    throw new ForbiddenError(`break-glass does not cover target '${target.name}'`);
  }
  if (
    target.allowedSourceCidrs &&
    !target.allowedSourceCidrs.some((block) => cidrContains(parseCidr(block), request.sourceIp))
  ) {
    throw new ForbiddenError(`target '${target.name}' may not be opened from ${request.sourceIp}`);
  }
  requireFreshMfa(identity, breakGlass.requireMfa, now, 'break-glass');
  // Breaking glass skips approval and quota, never the target's own second-factor rule.
  requireFreshMfa(identity, target.requireMfa, now, `target '${target.name}'`);
  const incidentId = parseIncidentId(request.incidentId);
  const maxMinutes = Math.min(breakGlass.maxDurationMinutes, target.maxDurationMinutes);
  const durationMinutes =
    request.durationMinutes ?? Math.min(target.defaultDurationMinutes, maxMinutes);
  if (!Number.isInteger(durationMinutes) || durationMinutes < 1) {
    throw new ValidationError('durationMinutes must be a whole number of minutes, at least 1');
  }
  if (durationMinutes > maxMinutes) {
    throw new ValidationError(
      `durationMinutes ${durationMinutes} exceeds the break-glass maximum of ${maxMinutes} for target '${target.name}'`,
    );
  }
  return { target, mode: target.mode, durationMinutes, maxMinutes, incidentId };
}

// ------------------------------------------------------------------------------ reviews

export const REVIEW_VERDICTS = ['appropriate', 'inappropriate'] as const;
export type ReviewVerdict = (typeof REVIEW_VERDICTS)[number];

/** Every break-glass session gets one, open until an admin (not the responder) reviews it. */
export interface Review {
  sessionId: string;
  /** the responder who broke glass */
  requester: string;
  target: string;
  incidentId: string;
  reason: string;
  sourceIp: string;
  durationMinutes: number;
  /** when glass was broken (the session's createdAt), epoch ms */
  requestedAt: number;
  status: 'open' | 'reviewed';
  verdict?: ReviewVerdict;
  comment?: string;
  reviewedBy?: string;
  reviewedAt?: number;
}

export function openReview(session: Session): Review {
  if (!session.breakGlass || !session.incidentId) {
    throw new Error('only break-glass sessions are reviewed');
  }
  return {
    sessionId: session.id,
    requester: session.owner,
    target: session.target,
    incidentId: session.incidentId,
    reason: session.reason,
    sourceIp: session.sourceIp,
    durationMinutes: session.durationMinutes,
    requestedAt: session.createdAt,
    status: 'open',
  };
}

export interface ReviewDecision {
  verdict: ReviewVerdict;
  comment: string;
}

/** Closes a review. A review is closed once; nobody reviews their own break-glass. */
export function closeReview(
  review: Review,
  decision: ReviewDecision,
  reviewer: string,
  now: number,
): Review {
  if (review.requester === reviewer) {
    throw new ForbiddenError('you cannot review your own break-glass session');
  }
  if (review.status !== 'open') {
    throw new ConflictError(
      `this review was already closed by ${review.reviewedBy ?? 'someone'} (${review.verdict ?? 'no verdict'})`,
    );
  }
  return {
    ...review,
    status: 'reviewed',
    verdict: decision.verdict,
    comment: decision.comment,
    reviewedBy: reviewer,
    reviewedAt: now,
  };
}
