import { type Session, SessionStatus } from '../domain/session.ts';
import type { AppDeps } from './deps.ts';
import { endSession, isOverdue } from './end-session.ts';

/** EventBridge Scheduler fires at second granularity and may be a little early or late. */
export const SCHEDULE_TOLERANCE_MS = 2_000;

/**
 * Layer 2: invoked by the session's one-time schedule. A schedule that fires for a session
 * that was extended (its expiresAt moved on) or already ended does nothing.
 */
export async function expireSession(
  deps: AppDeps,
  sessionId: string,
): Promise<Session | undefined> {
  const session = await deps.store.get(sessionId);
  if (!session) return undefined;
  if (session.status === SessionStatus.ENDING) {
    return endSession(deps, session, {
      reason: session.endReason ?? 'expired',
      actor: 'scheduler',
    });
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
