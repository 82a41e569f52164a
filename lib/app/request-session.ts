import { GENESIS_HASH } from '../domain/audit.ts';

import { openReview } from '../domain/break-glass.ts';

import { DrawbridgeError, ProvisioningUnavailableError } from '../domain/errors.ts';

import { decideGrant } from '../domain/grant.ts';

import { hostCidr } from '../domain/network.ts';

import { findTarget, type Policy } from '../domain/policy.ts';

import { parsePublicKey } from '../domain/public-key.ts';

import { replayAction } from '../domain/replay.ts';

import {
  type Identity,
  linuxUserFor,
  newSessionId,
  type Session,
  SessionStatus,
} from '../domain/session.ts';

import { isBreakGlass } from '../domain/usage.ts';

import type { CreateSessionOptions, IdempotencyClaim } from '../ports/session-store.ts';
import type { AppDeps } from './deps.ts';
import { approvalRequest, breakGlassAlert, type NotifyOutcome, notify } from './notify.ts';

import { applyEvent } from './record.ts';

export interface SessionRequest {
  target: string;
  durationMinutes?: number | undefined;
  reason: string;
  publicKey: string;
  /** on-call access: no approval, its own quota, an alert at once and a review afterwards */
  breakGlass?: boolean | undefined;
  incidentId?: string | undefined;
}

export interface RequestSessionInput {
  identity: Identity;
  /** requestContext.http.sourceIp — never a forwarded header */
  sourceIp: string;
  request: SessionRequest;
  idempotency?: IdempotencyClaim;
}

export interface RequestSessionResult {
  session: Session;
  replayed: boolean;
  /** break-glass only: whether the security alert went out (never holds access back) */
  alert?: NotifyOutcome;
}

/** Builds the REQUESTED session. Pure apart from the id; exported for the benchmarks and tests. */
export function newSession(policy: Policy, input: RequestSessionInput, now: number): Session {
  const decision = decideGrant(
    policy,
    input.identity,
    {
      target: input.request.target,
      durationMinutes: input.request.durationMinutes,
      sourceIp: input.sourceIp,
      breakGlass: input.request.breakGlass,
      incidentId: input.request.incidentId,
    },
    now,
  );
  const key = parsePublicKey(input.request.publicKey);
  const id = newSessionId();
  const provisioningDeadline = now + policy.provisioningDeadlineMinutes * 60_000;
  return {
    id,
    owner: input.identity.subject,
    ownerGroups: [...input.identity.groups],
    sourceIp: input.sourceIp,
    sourceCidr: hostCidr(input.sourceIp),
    target: decision.target.name,
    mode: decision.mode,
    reason: input.request.reason,
    publicKey: key.normalized,
    durationMinutes: decision.durationMinutes,
    linuxUser: linuxUserFor(id),
    // A target that needs approval: the request is born waiting for it.
    status: decision.approval ? SessionStatus.PENDING_APPROVAL : SessionStatus.REQUESTED,
    version: 0,
    createdAt: now,
    updatedAt: now,
    provisioningDeadline,
    // The key and the self-destruct are written before READY is known, so they carry the
    // latest moment the window could end: ready at the deadline plus the full duration (and
    // the target's extension headroom, lib/domain/extension.ts). An approval recomputes both.
    credentialExpiresAt: provisioningDeadline + decision.credentialMinutes * 60_000,
    quotaKind: decision.quotaKind,
    ...(decision.breakGlass
      ? { breakGlass: true, incidentId: decision.breakGlass.incidentId }
      : {}),
    ...(decision.approval ? { approval: decision.approval } : {}),
    ...(decision.notify ? { notify: decision.notify } : {}),
    recording: decision.target.recording,
    resources: {},
    auditSeq: 0,
    auditHead: GENESIS_HASH,
  };
}

/**
 * POST /sessions: check policy and key, record the session with its quota and idempotency
 * claim in one transaction, and hand it to the provisioner. Answers before the bastion exists.
 */
export type RequestDeps = Pick<
  AppDeps,
  | 'policy'
  | 'store'
  | 'queue'
  | 'auditLog'
  | 'clock'
  | 'logger'
  | 'metrics'
  | 'notifier'
  | 'targetChecks'
>;

export async function requestSession(
  deps: RequestDeps,
  input: RequestSessionInput,
): Promise<RequestSessionResult> {
  const session = await checkTarget(deps, newSession(deps.policy, input, deps.clock.now()));
  const options: CreateSessionOptions = {
    quota:
      session.quotaKind === 'break-glass'
        ? (deps.policy.breakGlass?.quota ?? 0)
        : deps.policy.quota.activeSessionsPerUser,
    ...(input.idempotency ? { idempotency: input.idempotency } : {}),
    // An EC2 Instance Connect Endpoint carries 20 connections at most: count its sessions.
    ...(session.mode === 'eice' ? { endpointCap: deps.policy.eiceSessionsPerEndpoint } : {}),
    // Every break-glass session is reviewed; the review exists from the same write on.
    ...(session.breakGlass ? { review: openReview(session) } : {}),
    event: {
      type: 'requested',
      actor: session.owner,
      detail: {
        target: session.target,
        durationMinutes: session.durationMinutes,
        sourceIp: session.sourceIp,
        reason: session.reason,
        ...(session.approval
          ? { approvalDeadline: new Date(session.approval.deadline).toISOString() }
          : {}),
        ...(session.breakGlass ? { breakGlass: true, incidentId: session.incidentId ?? '' } : {}),
      },
    },
  };
  let created = await deps.store.create(session, options);
  if (created.replayed && input.idempotency && replayAction(created.session) === 'fresh') {
    // The earlier attempt failed before launching anything: this retry is a new attempt, and
    // the key moves to it only if it still points at the failed session (a concurrent retry
    // that got there first is replayed instead).
    created = await deps.store.create(session, {
      ...options,
      idempotency: { ...input.idempotency, replaces: created.session.id },
    });
  }
  if (created.replayed) {
    if (replayAction(created.session) === 'resume') await enqueueOrFail(deps, created.session);
    return created;
  }
  if (created.event) deps.auditLog.record(created.event);
  deps.metrics?.emit('SessionsRequested', 1);
  if (isBreakGlass(created.session)) deps.metrics?.emit('BreakGlassSessions', 1);

  const target = findTarget(deps.policy, created.session.target);
  let alert: NotifyOutcome | undefined;
  if (created.session.breakGlass) {
    // At once, before anything is launched: the security channel hears of it even if the
    // launch fails. A lost alert is logged and counted, and the answer says so; access goes on.
    alert = await notify(deps, breakGlassAlert(created.session, target, deps.clock.now()));
  }
  if (created.session.status === SessionStatus.PENDING_APPROVAL) {
    // Provisioning waits for an approver (lib/app/approve-session.ts); tell them.
    await notify(deps, approvalRequest(created.session, target, deps.clock.now()));
    return created;
  }

  await enqueueOrFail(deps, created.session);
  return alert ? { ...created, alert } : created;
}

/**
 * Hands the session to the provisioner. No half-made request: without a provisioner the
 * session could only wait for its deadline, so a failed send fails it now (which gives the
 * quota back; nothing was launched, so there is nothing to release) and the caller is told to
 * retry, which then starts afresh (lib/domain/replay.ts).
 */
async function enqueueOrFail(deps: RequestDeps, session: Session): Promise<void> {
  try {
    await deps.queue.enqueue(session.id);
  } catch (error) {
    deps.logger.error('enqueue failed; failing the session', { sessionId: session.id, error });
    const reason = 'could not start provisioning; please retry';
    await applyEvent(
      deps,
      session,
      { type: 'fail', reason },
      { actor: 'drawbridge', detail: { reason } },
    );
    throw new ProvisioningUnavailableError({ cause: error });
  }
}

/**
 * Before anything is written: a target the mode can check (ssm: the instance is Online, and
 * only one matches its tags) refuses with 409 and takes no quota. What the check resolved is
 * recorded on the session. A check that cannot be made right now is a 503, not a refusal.
 */
async function checkTarget(deps: RequestDeps, session: Session): Promise<Session> {
  const check = deps.targetChecks?.[session.mode];
  const target = findTarget(deps.policy, session.target);
  if (!check || !target) return session;
  try {
    const resources = await check.checkTarget(target);
    return { ...session, resources: { ...session.resources, ...resources } };
  } catch (error) {
    if (error instanceof DrawbridgeError && error.expose) throw error;
    throw new ProvisioningUnavailableError({ cause: error });
  }
}
