import type { Session } from '../domain/session.ts';
import type { ConnectionRecord } from '../domain/sshd-log.ts';

/** The bastion's own log for one session (CloudWatch Logs stream, or the local sshd.log). */
export interface SessionLog {
  /** Who connected, from where, and what was refused, oldest first. Empty when there is no log yet. */
  connections(session: Session): Promise<ConnectionRecord[]>;
}
