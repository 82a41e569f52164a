import { authorizedKeyLine } from '../domain/authorized-key.ts';
import { IllegalTransitionError, ProvisioningError, StaleSessionError } from '../domain/errors.ts';
import { issueHostKey, publicHalf } from '../domain/host-key.ts';
import { findTarget } from '../domain/policy.ts';
import type { Connection, Session } from '../domain/session.ts';
import { isLive, SessionStatus } from '../domain/session.ts';
import { phaseDurations, READY_PHASES } from '../domain/time-to-ready.ts';
import { timeToReadySeconds } from '../domain/usage.ts';
import { type AppDeps, providerFor } from './deps.ts';
import { failSession } from './end-session.ts';
import { notifySession } from './notify.ts';
import { applyEvent } from './record.ts';

type ProvisionDeps = Pick<
  AppDeps,
  | 'policy'
  | 'store'
  | 'providers'
  | 'scheduler'
  | 'auditLog'
  | 'clock'
  | 'logger'
  | 'metrics'
  | 'notifier'
  | 'queue'
>;

const ACTOR = 'drawbridge';
/** SQS holds a message back at most this long. */
const MAX_DELAY_SECONDS = 900;

/** How long a retryable launch failure (no capacity, throttled) waits before the next try. */
export const LAUNCH_RETRY_SECONDS = 30;

/** A launch is on record once the attach write stored the bastion the provider created. */
const hasBastion = (session: Session): boolean =>
  session.resources.instanceId !== undefined || session.resources.pid !== undefined;

/**
 * Runs from the provision queue (at least once): REQUESTED → PROVISIONING, launch, record the
 * resources (attach). The session becomes READY when the bastion says it runs (observeBastion:
 * EC2's state-change event, the local sshd listening), or directly when the provider returns a
 * usable connection (ssm on an existing instance). Redelivery resumes where a killed run
 * stopped: a PROVISIONING session with no bastion on record launches again, which is safe
 * because every launch is idempotent per session (ClientToken; the security group and the sshd
 * are found again). A retryable failure goes back to the queue with a delay until the
 * provisioning deadline; any other failure ends in FAILED with everything released.
 */
export async function provisionSession(
  deps: ProvisionDeps,
  sessionId: string,
): Promise<Session | undefined> {
  const current = await deps.store.get(sessionId);
  if (current?.status === SessionStatus.PROVISIONING) {
    // A readiness check that came back through the queue (see checkReadiness).
    if (hasBastion(current)) return checkReadiness(deps, current);
    // Killed between the provision write and attach (or a retryable failure): launch again.
    return launchFor(deps, current);
  }
  // Redelivered or already handled: nothing to do.
  if (!current || current.status !== SessionStatus.REQUESTED) return current;

  const target = findTarget(deps.policy, current.target);
  if (!target)
    return failSession(deps, current, `target '${current.target}' is no longer in the policy`);
  if (deps.clock.now() > current.provisioningDeadline)
    return failSession(deps, current, 'provisioning deadline passed before launch');

  const provisioning = await applyEvent(
    deps,
    current,
    { type: 'provision' },
    { actor: ACTOR, detail: { mode: current.mode } },
  );
  return launchFor(deps, provisioning);
}

async function launchFor(deps: ProvisionDeps, provisioning: Session): Promise<Session> {
  const sessionId = provisioning.id;
  const target = findTarget(deps.policy, provisioning.target);
  if (!target)
    return failSession(
      deps,
      provisioning,
      `target '${provisioning.target}' is no longer in the policy`,
    );
  const now = deps.clock.now();
  if (now > provisioning.provisioningDeadline)
    return failSession(deps, provisioning, 'provisioning deadline passed before launch');
  const selfDestructAt =
    provisioning.credentialExpiresAt + deps.policy.selfDestructGraceMinutes * 60_000;
  // A bastion's host key is issued here, never by the bastion, so that nobody has to trust it
  // on first use; only its public half is recorded (attach). ssm has no sshd of its own.
  const hostKey = provisioning.mode === 'ssm' ? undefined : issueHostKey();
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
        recorded: target.recording === 'full',
        sessionId: provisioning.id,
      }),
      selfDestructAt,
      selfDestructMinutes: Math.ceil((selfDestructAt - now) / 60_000),
      ...(hostKey ? { hostKey } : {}),
    });
  } catch (error) {
    const reason =
      error instanceof ProvisioningError
        ? error.reason
        : 'internal error while launching the bastion';
    deps.logger.error('launch failed', { sessionId, error });
    if (error instanceof ProvisioningError && error.retryable)
      return retryLaunchLater(deps, provisioning, reason);
    return failSession(deps, provisioning, reason);
  }

  if (launched.connection)
    return markReady(deps, provisioning, launched.connection, launched.resources);
  let attached: Session;
  try {
    attached = await applyEvent(
      deps,
      provisioning,
      {
        type: 'attach',
        resources: launched.resources,
        launchSentAt: now,
        ...(hostKey ? { hostKey: publicHalf(hostKey) } : {}),
      },
      {
        actor: ACTOR,
        detail: {
          ...stringValues(launched.resources),
          launchSentAt: now,
          ...(hostKey ? { hostKeyFingerprint: hostKey.fingerprint } : {}),
        },
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
  if (launched.recheckAfterSeconds !== undefined) {
    await recheckLater(deps, attached, launched.recheckAfterSeconds);
  }
  return attached;
}

/**
 * A failure that may pass (no capacity in any subnet, EC2 throttling past the SDK's own
 * retries): the session stays PROVISIONING with nothing launched, and the message comes back
 * after a delay, as long as the next try still starts before the provisioning deadline. When it
 * would not, the session fails now with the last reason rather than wait for the reaper.
 */
async function retryLaunchLater(
  deps: ProvisionDeps,
  session: Session,
  reason: string,
): Promise<Session> {
  const delaySeconds = LAUNCH_RETRY_SECONDS;
  if (deps.clock.now() + delaySeconds * 1000 >= session.provisioningDeadline)
    return failSession(deps, session, reason);
  try {
    await deps.queue.enqueue(session.id, { delaySeconds });
  } catch (error) {
    deps.logger.error('could not queue a launch retry', { sessionId: session.id, error });
    return failSession(deps, session, reason);
  }
  deps.logger.warn('launch failed for a reason that may pass; retrying later', {
    sessionId: session.id,
    reason,
    delaySeconds,
  });
  return session;
}

/**
 * For a PROVISIONING session whose readiness no cloud event announces (ssm: the agent coming
 * Online after EC2 already said running): look now, and if the provider says "not yet, ask
 * again", put the session back on the provision queue with a delay. The chain stops at READY,
 * at gone, or at the provisioning deadline, after which the reaper fails the session and
 * releases the bastion.
 */
export async function checkReadiness(deps: ProvisionDeps, session: Session): Promise<Session> {
  const state = await providerFor(deps.providers, session.mode).inspect(session);
  if (state.state === 'running')
    return markReady(deps, session, state.connection, {}, 'readiness-check');
  if (state.state === 'gone')
    return failSession(deps, session, 'the bastion stopped before it was ready');
  if (state.recheckAfterSeconds !== undefined) {
    await recheckLater(deps, session, state.recheckAfterSeconds);
  }
  return session;
}

async function recheckLater(deps: ProvisionDeps, session: Session, seconds: number): Promise<void> {
  const untilDeadline = Math.floor((session.provisioningDeadline - deps.clock.now()) / 1000);
  const delaySeconds = Math.min(MAX_DELAY_SECONDS, untilDeadline, Math.max(1, Math.ceil(seconds)));
  if (delaySeconds < 1) return;
  try {
    await deps.queue.enqueue(session.id, { delaySeconds });
  } catch (error) {
    deps.logger.error('could not queue a readiness check; the deadline will end the session', {
      sessionId: session.id,
      error,
    });
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
  /** what said the bastion is usable, for the audit trail */
  via: 'readiness-proof' | 'bastion-running' | 'readiness-check' | 'launch' = 'launch',
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
          via,
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
    if (error instanceof StaleSessionError) {
      // Revoked (or failed) while the bastion was starting: its end could not see what we
      // just launched, so take it down here instead of leaving it to reconciliation.
      const fresh = await deps.store.get(session.id);
      if (fresh && (fresh.status === SessionStatus.ENDING || !isLive(fresh.status))) {
        await providerFor(deps.providers, fresh.mode)
          .release({ ...fresh, resources: { ...fresh.resources, ...resources } })
          .catch((releaseError: unknown) =>
            deps.logger.error('could not release a bastion launched for an ended session', {
              sessionId: fresh.id,
              releaseError,
            }),
          );
        return fresh;
      }
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
  deps.metrics?.emit('SessionsReady', 1);
  deps.metrics?.emit('TimeToReady', timeToReadySeconds(ready) ?? 0);
  const phases = phaseDurations(ready);
  for (const phase of READY_PHASES) {
    const value = phases[phase];
    if (value !== undefined) deps.metrics?.emit('TimeToReady', value, { phase });
  }
  await notifySession(deps, ready, 'granted');
  return ready;
}

function stringValues(resources: Session['resources']): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(resources)) {
    if (typeof value === 'string' || typeof value === 'number') out[key] = value;
  }
  return out;
}
