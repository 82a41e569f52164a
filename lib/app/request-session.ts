import { GENESIS_HASH } from '../domain/audit.ts';
import { DrawbridgeError } from '../domain/errors.ts';
import { hostCidr } from '../domain/network.ts';
import { decideAccess, type Policy } from '../domain/policy.ts';
import { parsePublicKey } from '../domain/public-key.ts';
import {
  type Identity,
  linuxUserFor,
  newSessionId,
  type Session,
  SessionStatus,
} from '../domain/session.ts';
import type { IdempotencyClaim } from '../ports/session-store.ts';
import type { AppDeps } from './deps.ts';
import { applyEvent } from './record.ts';

export interface SessionRequest {
  target: string;
  durationMinutes?: number | undefined;
  reason: string;
  publicKey: string;
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
}

/** 503: the request was valid but could not be started; nothing was left behind. */
export class ProvisioningUnavailableError extends DrawbridgeError {
  override readonly code = 'unavailable';
  override readonly status = 503;
  override readonly expose = true;
  constructor(options?: { cause?: unknown }) {
    super('Drawbridge could not start provisioning right now; retry in a moment', options);
    this.name = 'ProvisioningUnavailableError';
  }
}

/** Builds the REQUESTED session. Pure apart from the id; exported for the benchmarks and tests. */
export function newSession(policy: Policy, input: RequestSessionInput, now: number): Session {
  const decision = decideAccess(policy, input.identity, {
    target: input.request.target,
    durationMinutes: input.request.durationMinutes,
    sourceIp: input.sourceIp,
  });
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
    status: SessionStatus.REQUESTED,
    version: 0,
    createdAt: now,
    updatedAt: now,
    provisioningDeadline,
    // The key and the self-destruct are written before READY is known, so they carry the
    // latest moment the window could end: ready at the deadline plus the full duration.
    credentialExpiresAt: provisioningDeadline + decision.durationMinutes * 60_000,
    resources: {},
    auditSeq: 0,
    auditHead: GENESIS_HASH,
  };
}

/**
 * POST /sessions: check policy and key, record the session with its quota and idempotency
 * claim in one transaction, and hand it to the provisioner. Answers before the bastion exists.
 */
export type RequestDeps = Pick<AppDeps, 'policy' | 'store' | 'queue' | 'auditLog' | 'clock' | 'logger'>;

export async function requestSession(
  deps: RequestDeps,
  input: RequestSessionInput,
): Promise<RequestSessionResult> {
  const session = newSession(deps.policy, input, deps.clock.now());
  const created = await deps.store.create(session, {
    quota: deps.policy.quota.activeSessionsPerUser,
    ...(input.idempotency ? { idempotency: input.idempotency } : {}),
    event: {
      type: 'requested',
      actor: session.owner,
      detail: {
        target: session.target,
        durationMinutes: session.durationMinutes,
        sourceIp: session.sourceIp,
        reason: session.reason,
      },
    },
  });
  if (created.replayed) return created;
  if (created.event) deps.auditLog.record(created.event);

  try {
    await deps.queue.enqueue(created.session.id);
  } catch (error) {
    // No half-made request: without a provisioner the session could only wait for its
    // deadline, so fail it now (which gives the quota back) and tell the caller to retry.
    deps.logger.error('enqueue failed; failing the session', {
      sessionId: created.session.id,
      error,
    });
    // Nothing was launched yet, so there is nothing to release: record FAILED directly.
    const reason = 'could not start provisioning; please retry';
    await applyEvent(deps, created.session, { type: 'fail', reason }, { actor: 'drawbridge', detail: { reason } });
    throw new ProvisioningUnavailableError({ cause: error });
  }
  return created;
}
