import { type Session, SessionStatus } from './session.ts';

/**
 * When the reaper should look at a session: the provisioning deadline until READY, then the
 * end of the window; ENDING is due from the moment it began; an ENDED session whose recording
 * has not settled, from its next check until it is sealed. Other terminal sessions have none
 * (undefined) and so drop out of the reaper's list. Both stores index on this.
 */
export function dueAtFor(session: Session): number | undefined {
  switch (session.status) {
    case SessionStatus.REQUESTED:
    case SessionStatus.PROVISIONING:
      return session.provisioningDeadline;
    // The reaper refuses a request nobody approved in time.
    case SessionStatus.PENDING_APPROVAL:
      return session.approval?.deadline ?? session.provisioningDeadline;
    case SessionStatus.READY: {
      const end = session.expiresAt ?? session.provisioningDeadline;
      // An owed "expiring soon" notice makes the session due a little early, once.
      return session.expiryWarningAt !== undefined ? Math.min(end, session.expiryWarningAt) : end;
    }
    case SessionStatus.ENDING:
      // An end that was interrupted (release failed, crash) is due at once, not at expiresAt:
      // a revoked session must not wait for its window to run out before the reaper retries.
      return session.updatedAt;
    case SessionStatus.ENDED:
      return session.recordingSettle?.checkAt;
    default:
      return undefined;
  }
}
