import { type Session, SessionStatus } from './session.ts';

/**
 * What an Idempotency-Key retry should get, given the session the key points at
 * (Powertools idempotency is the model: a failed record is as good as absent, one still in
 * progress is resumed, never replayed as if it had succeeded).
 *
 * - `fresh`: the earlier attempt FAILED before anything was launched (enqueueing failed, the
 *   deadline passed before launch, the launch itself failed), so the retry is a new attempt.
 *   A session that reached a bastion (instance, security group, sshd pid, or READY) is history
 *   the caller must see, and is replayed as is.
 * - `resume`: the session is still REQUESTED. The provision worker's first act is the
 *   conditional REQUESTED → PROVISIONING write, so REQUESTED means no worker has claimed it:
 *   either its message is still queued or it was never sent (the function died between the
 *   write and the send). Sending it again is safe either way: provisioning a session that is
 *   no longer REQUESTED does nothing, and two deliveries race on that conditional write.
 * - `replay`: anything else is answered with the session as it stands.
 */
export type ReplayAction = 'fresh' | 'resume' | 'replay';

export function replayAction(session: Session): ReplayAction {
  if (session.status === SessionStatus.REQUESTED) return 'resume';
  if (session.status === SessionStatus.FAILED && launchedNothing(session)) return 'fresh';
  return 'replay';
}

function launchedNothing(session: Session): boolean {
  const { instanceId, securityGroupId, pid } = session.resources;
  return (
    instanceId === undefined &&
    securityGroupId === undefined &&
    pid === undefined &&
    session.readyAt === undefined
  );
}
