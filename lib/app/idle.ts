import { findTarget } from '../domain/policy.ts';
import type { IdleEnd } from '../domain/recording-chain.ts';
import { isLive, type Session, SessionStatus } from '../domain/session.ts';
import type { AppDeps } from './deps.ts';
import { endSession } from './end-session.ts';
import type { BastionLogLine } from './prove-readiness.ts';
import { applyEvent } from './record.ts';

type IdleDeps = Pick<
  AppDeps,
  'policy' | 'store' | 'providers' | 'scheduler' | 'auditLog' | 'clock' | 'logger'
> &
  Partial<Pick<AppDeps, 'metrics' | 'notifier' | 'recordings'>>;

/**
 * The recorder closed a connection for inactivity (its end chunk says `idle`): the trail says
 * so, and the session ends with reason idle unless the target says `idleEndsSession: false`
 * (then only that connection was closed; the window runs on). Seen locally by the recording
 * watcher; on ec2 through the bastion log group's subscription (onIdleEndLine).
 */
export async function noteIdleDisconnect(
  deps: IdleDeps,
  sessionId: string,
  connection: string,
): Promise<Session | undefined> {
  const session = await deps.store.get(sessionId);
  if (!session || !isLive(session.status) || session.status === SessionStatus.ENDING) {
    return session;
  }
  const target = findTarget(deps.policy, session.target);
  const minutes = target?.idleTimeoutMinutes;
  const endsSession = target?.idleEndsSession !== false;
  const noted = await applyEvent(
    deps,
    session,
    { type: 'note' },
    {
      type: 'idle-disconnected',
      actor: 'drawbridge',
      detail: {
        connection: connection.slice(0, 64),
        endsSession,
        ...(minutes ? { idleMinutes: minutes } : {}),
      },
    },
  );
  if (!endsSession || noted.status !== SessionStatus.READY) return noted;
  return endSession(deps, noted, {
    reason: 'idle',
    actor: 'drawbridge',
    detail: `no terminal activity for ${minutes ?? '?'} minutes`,
  });
}

export type IdleLineOutcome =
  | { outcome: 'idle'; session: Session }
  | { outcome: 'ignored'; why: string; session?: Session };

/**
 * ec2: an idle end chunk as the bastion log group's subscription delivered it, with the stream
 * it was written to (named after the instance id; only that instance's agent writes it). It
 * counts only from the stream of the session's own recorded instance, naming that session, for
 * a recorded ec2 session; anything else changes nothing, so a line copied into another
 * session's stream cannot end that session or this one.
 */
export async function onIdleEndLine(
  deps: IdleDeps,
  line: BastionLogLine,
  idle: IdleEnd,
): Promise<IdleLineOutcome> {
  const session = await deps.store.findByInstanceId(line.stream);
  if (session?.mode !== 'ec2') return { outcome: 'ignored', why: 'no session owns this stream' };
  if (session.resources.instanceId !== line.stream || idle.sessionId !== session.id) {
    deps.logger.warn('an idle end chunk named another session than its stream; ignored', {
      sessionId: session.id,
      stream: line.stream,
      named: idle.sessionId.slice(0, 64),
    });
    return { outcome: 'ignored', why: "the chunk is not from the session's own stream", session };
  }
  if (session.recording !== 'full')
    return { outcome: 'ignored', why: 'the session is not recorded', session };
  const after = await noteIdleDisconnect(deps, session.id, idle.connection);
  return after
    ? { outcome: 'idle', session: after }
    : { outcome: 'ignored', why: 'the session is gone' };
}
