import type { Session } from '../domain/session.ts';

/** Layer 2: one one-time schedule per session that invokes `expire` at expiresAt. */
export interface ExpiryScheduler {
  /** Creates (or moves) the session's schedule to fire at session.expiresAt; returns its name. */
  schedule(session: Session): Promise<string>;
  /** Removes the schedule; a missing schedule is not an error. */
  cancel(session: Session): Promise<void>;
}
