import { authorizedKeyLine } from '../domain/authorized-key.ts';
import { IllegalTransitionError, ProvisioningError } from '../domain/errors.ts';
import { findTarget } from '../domain/policy.ts';
import type { Connection, Session } from '../domain/session.ts';
import { SessionStatus } from '../domain/session.ts';
import { type AppDeps, providerFor } from './deps.ts';
import { failSession } from './end-session.ts';
import { applyEvent } from './record.ts';

type ProvisionDeps = Pick<
  AppDeps,
  'policy' | 'store' | 'providers' | 'scheduler' | 'auditLog' | 'clock' | 'logger'
>;

const ACTOR = 'drawbridge';

/**
 * Runs from the provision queue (at least once): REQUESTED → PROVISIONING, launch, record the
 * resources. A provider that is usable at once (local) goes straight to READY; ec2 becomes
 * READY when EC2 reports the instance running (markReady). Any failure ends in FAILED with
 * everything released, never in a session stuck half-way.
 */
export async function provisionSession(
  deps: ProvisionDeps,
  sessionId: string,
): Promise<Session | undefined> {
  const requested = await deps.store.get(sessionId);
  // Redelivered or already handled: nothing to do.
  if (!requested || requested.status !== SessionStatus.REQUESTED) return requested;

  const target = findTarget(deps.policy, requested.target);
  if (!target)
    return failSession(deps, requested, `target '${requested.target}' is no longer in the policy`);

  const now = deps.clock.now();
  if (now > requested.provisioningDeadline)
    return failSession(deps, requested, 'provisioning deadline passed before launch');

  const provisioning = await applyEvent(
    deps,
    requested,
    { type: 'provision' },
    { actor: ACTOR, detail: { mode: requested.mode } },
  );
  const selfDestructAt =
    provisioning.credentialExpiresAt + deps.policy.selfDestructGraceMinutes * 60_000;
  let launched: Awaited<ReturnType<ReturnType<typeof providerFor>['launch']>>;
  try {
    launched = await providerFor(deps.providers, provisioning.mode).launch({
      session: provisioning,
      target,
      policy: deps.policy,
      authorizedKey: authorizedKeyLine({
        publicKey: provisioning.publicKey,
        targetHost: target.host,
        targetPort: target.port,
        sourceCidr: provisioning.sourceCidr,
        expiresAt: provisioning.credentialExpiresAt,
        access: target.access,
        sessionId: provisioning.id,
      }),
      selfDestructAt,
      selfDestructMinutes: Math.ceil((selfDestructAt - now) / 60_000),
    });
  } catch (error) {
    const reason =
      error instanceof ProvisioningError
        ? error.reason
        : 'internal error while launching the bastion';
    deps.logger.error('launch failed', { sessionId, error });
    return failSession(deps, provisioning, reason);
  }

  if (launched.connection)
    return markReady(deps, provisioning, launched.connection, launched.resources);
  try {
    return await applyEvent(
      deps,
      provisioning,
      { type: 'attach', resources: launched.resources },
      {
        actor: ACTOR,
        detail: { ...stringValues(launched.resources) },
      },
    );
  } catch (error) {
    // The bastion exists but the table does not know it: take it down now rather than leave
    // it to the reaper. If this fails too, reconciliation finds it by its tags.
    deps.logger.error('could not record the launched bastion; releasing it', { sessionId, error });
    await providerFor(deps.providers, provisioning.mode)
      .release({ ...provisioning, resources: { ...provisioning.resources, ...launched.resources } })
      .catch((releaseError: unknown) =>
        deps.logger.error('release after a failed write failed', { sessionId, releaseError }),
      );
    throw error;
  }
}

/**
 * PROVISIONING → READY: the window starts now. Arms the scheduled end (layer 2); if the
 * scheduler is down the reaper (layer 3) still ends the session on its minute.
 */
export async function markReady(
  deps: ProvisionDeps,
  session: Session,
  connection: Connection,
  resources: Session['resources'] = {},
): Promise<Session> {
  let ready: Session;
  try {
    ready = await applyEvent(
      deps,
      session,
      { type: 'ready', connection, resources },
      {
        actor: ACTOR,
        detail: {
          bastionHost: connection.bastionHost,
          bastionPort: connection.bastionPort,
          ...stringValues(resources),
        },
      },
    );
  } catch (error) {
    if (error instanceof IllegalTransitionError && session.status === SessionStatus.PROVISIONING) {
      return failSession(
        deps,
        { ...session, resources: { ...session.resources, ...resources } },
        error.message,
      );
    }
    throw error;
  }
  try {
    await deps.scheduler.schedule(ready);
  } catch (error) {
    deps.logger.error('could not create the expiry schedule; the reaper will end the session', {
      sessionId: ready.id,
      error,
    });
  }
  return ready;
}

function stringValues(resources: Session['resources']): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(resources)) {
    if (typeof value === 'string' || typeof value === 'number') out[key] = value;
  }
  return out;
}
