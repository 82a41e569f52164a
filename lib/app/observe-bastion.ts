import {
  StaleSessionError,
  UnknownInstanceError,
  UnrecordedBastionError,
} from '../domain/errors.ts';
import { type Session, SessionStatus } from '../domain/session.ts';

import { type AppDeps, providerFor } from './deps.ts';

import { endSession, failSession } from './end-session.ts';

import { markReady } from './provision-session.ts';
import { applyEvent } from './record.ts';

export type BastionSignal = 'running' | 'gone';

/**
 * The provider told us what happened to a bastion (EC2 state-change event, or the local
 * sshd exiting). Running completes provisioning; gone from outside ends a live session so
 * nobody holds a session for a bastion that no longer exists.
 */
export async function observeBastion(
  deps: AppDeps,
  session: Session,
  signal: BastionSignal,
): Promise<Session> {
  if (signal === 'running') {
    if (session.status !== SessionStatus.PROVISIONING) return session;
    const state = await providerFor(deps.providers, session.mode).inspect(session);
    if (state.state === 'gone')
      return failSession(deps, session, 'the bastion stopped before it was ready');
    if (state.state !== 'running') return session;
    // A bastion with our sshd is READY only on its readiness proof (prove-readiness.ts):
    // running is progress, recorded once as a phase of time to ready.
    if (awaitsReadinessProof(session)) {
      if (deps.clock.now() > session.provisioningDeadline)
        return failSession(
          deps,
          session,
          'the instance reached running after the provisioning deadline',
        );
      return recordRunning(deps, session);
    }
    return markReady(deps, session, state.connection, {}, 'bastion-running');
  }
  switch (session.status) {
    case SessionStatus.REQUESTED:
    case SessionStatus.PROVISIONING:
      return failSession(deps, session, 'the bastion stopped before it was ready');
    case SessionStatus.READY:
      return endSession(deps, session, {
        reason: 'failed',
        actor: 'drawbridge',
        detail: 'the bastion ended outside Drawbridge',
      });
    case SessionStatus.ENDING:
      return endSession(deps, session, {
        reason: session.endReason ?? 'failed',
        actor: 'drawbridge',
      });
    default:
      return session;
  }
}

/** ec2 and local bastions run Drawbridge's sshd, which proves its readiness through its log. */
export const awaitsReadinessProof = (session: Session): boolean =>
  session.mode === 'ec2' || session.mode === 'local';

async function recordRunning(deps: AppDeps, session: Session): Promise<Session> {
  if (session.bastionRunningAt !== undefined) return session;
  try {
    return await applyEvent(
      deps,
      session,
      { type: 'running' },
      { actor: 'drawbridge', detail: { phase: 'running' } },
    );
  } catch (error) {
    // The proof (READY) or an end got there first: the phase is then recorded by READY or moot.
    if (error instanceof StaleSessionError) return (await deps.store.get(session.id)) ?? session;
    throw error;
  }
}

/** EC2 instance state names that mean the bastion is no longer usable. */
export const GONE_INSTANCE_STATES = ['shutting-down', 'terminated', 'stopping', 'stopped'] as const;

/**
 * The local bastion's running signal → its session, on the same path as EC2's event: the
 * signal can beat the attach write, and then throws so that the sender delivers it again.
 */
export async function onLocalBastionRunning(
  deps: AppDeps,
  sessionId: string,
): Promise<Session | undefined> {
  const session = await deps.store.get(sessionId);
  if (!session) return undefined;
  if (session.status === SessionStatus.PROVISIONING && session.resources.pid === undefined)
    throw new UnrecordedBastionError(sessionId);
  return observeBastion(deps, session, 'running');
}

/** EC2 state-change notification → the session that owns the instance. */
export async function onInstanceState(
  deps: AppDeps,
  instanceId: string,
  state: string,
): Promise<Session | undefined> {
  const session = await deps.store.findByInstanceId(instanceId);
  if (!session) {
    // 'running' can beat the write that records the instance id: throwing makes EventBridge
    // retry the delivery. Anything else about an unknown instance is the reaper's business.
    if (state === 'running') throw new UnknownInstanceError(instanceId);
    return undefined;
  }
  if (state === 'running') return observeBastion(deps, session, 'running');
  if (!(GONE_INSTANCE_STATES as readonly string[]).includes(state)) return session;
  const observed = await observeBastion(deps, session, 'gone');
  // Only now can what the instance held go (its security group): deleting it at release time
  // always fails while the interface is attached.
  if (state === 'terminated') await releaseLeftovers(deps, observed);
  return observed;
}

async function releaseLeftovers(deps: AppDeps, session: Session): Promise<void> {
  const provider = providerFor(deps.providers, session.mode);
  try {
    await provider.releaseLeftovers?.(session);
  } catch (error) {
    deps.logger.warn('could not free what the terminated bastion held; the reaper will', {
      sessionId: session.id,
      error,
    });
  }
}
