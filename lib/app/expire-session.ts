import { setTimeout as sleep } from 'node:timers/promises';
import { type Session, SessionStatus } from '../domain/session.ts';
import type { AppDeps } from './deps.ts';
import { endSession, isOverdue } from './end-session.ts';

/** A schedule that fires this close to expiresAt ends the session at once. */
export const SCHEDULE_TOLERANCE_MS = 2_000;

export interface ExpireOptions {
  /**
   * How long this run may wait for expiresAt when the schedule fires early (EventBridge
   * Scheduler fires anywhere in a minute, and is set to fire before expiresAt: see
   * fireMinuteFor). 0: never wait (the local scheduler's timers are precise).
   */
  maxWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Layer 2: invoked by the session's one-time schedule. Early, it waits in-process until
 * expiresAt and ends the session then, so access ends within this run's own time of expiresAt
 * rather than at the reaper's next minute. A schedule that fires for a session that was
 * extended (its expiresAt moved beyond the wait) or already ended does nothing: an extension
 * moves the schedule too.
 */
export async function expireSession(
  deps: AppDeps,
  sessionId: string,
  options: ExpireOptions = {},
): Promise<Session | undefined> {
  let session = await deps.store.get(sessionId);
  if (!session) return undefined;
  if (session.status === SessionStatus.ENDING) {
    return endSession(deps, session, {
      reason: session.endReason ?? 'expired',
      actor: 'scheduler',
    });
  }
  const early =
    session.status === SessionStatus.READY && session.expiresAt !== undefined
      ? session.expiresAt - deps.clock.now()
      : 0;
  if (early > SCHEDULE_TOLERANCE_MS && early <= (options.maxWaitMs ?? 0)) {
    await (options.sleep ?? sleep)(early);
    // An extension or a revoke may have landed while we waited.
    session = await deps.store.get(sessionId);
    if (!session) return undefined;
  }
  const now = deps.clock.now();
  if (isOverdue(session, now, SCHEDULE_TOLERANCE_MS)) {
    return endSession(deps, session, {
      reason: 'expired',
      actor: 'scheduler',
      // An extension that commits while we end keeps the session.
      stillDue: (fresh, at) => isOverdue(fresh, at, SCHEDULE_TOLERANCE_MS),
    });
  }
  return session;
}
