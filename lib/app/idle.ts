import { StaleSessionError } from '../domain/errors.ts';
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
  const noted = await noteOnce(deps, sessionId, connection.slice(0, 64));
  if (!noted?.idle) return noted?.session;
  const { session } = noted;
  const { endsSession, minutes } = noted.idle;
  // Also on a redelivery whose first delivery noted the connection but failed before the end.
  if (!endsSession || session.status !== SessionStatus.READY) return session;
  return endSession(deps, session, {
    reason: 'idle',
    actor: 'drawbridge',
    detail: `no terminal activity for ${minutes ?? '?'} minutes`,
  });
}

const MAX_RACE_RETRIES = 3;

/**
 * The trail's idle-disconnected event for this connection, written once. A connection has one
 * end chunk, and CloudWatch's subscription delivers at least once: a second delivery of the
 * same chunk finds its event already in the trail and writes nothing. Two deliveries at once
 * cannot both write: the session is read before the trail, and the write is conditional on
 * the version read, so the later one is stale, looks again and finds the event.
 */
async function noteOnce(
  deps: IdleDeps,
  sessionId: string,
  connection: string,
): Promise<{ session: Session; idle?: { endsSession: boolean; minutes?: number } } | undefined> {
  for (let attempt = 0; ; attempt += 1) {
    const session = await deps.store.get(sessionId);
    if (!session || !isLive(session.status) || session.status === SessionStatus.ENDING) {
      return session ? { session } : undefined;
    }
    const target = findTarget(deps.policy, session.target);
    const minutes = target?.idleTimeoutMinutes;
    const idle = {
      endsSession: target?.idleEndsSession !== false,
      ...(minutes ? { minutes } : {}),
    };
    const events = await deps.store.listEvents(sessionId);
    const seen = events.some(
      (event) => event.type === 'idle-disconnected' && event.detail?.connection === connection,
    );
    if (seen) return { session, idle };
    try {
      const noted = await applyEvent(
        deps,
        session,
        { type: 'note' },
        {
          type: 'idle-disconnected',
          actor: 'drawbridge',
          detail: {
            connection,
            endsSession: idle.endsSession,
            ...(minutes ? { idleMinutes: minutes } : {}),
          },
        },
      );
      return { session: noted, idle };
    } catch (error) {
      if (!(error instanceof StaleSessionError) || attempt >= MAX_RACE_RETRIES) throw error;
    }
  }
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
