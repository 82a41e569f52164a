import { findTarget } from '../domain/policy.ts';
import { isLive, type Session, SessionStatus } from '../domain/session.ts';
import type { AppDeps } from './deps.ts';
import { endSession } from './end-session.ts';
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
 * watcher; on ec2 the same chunk reaches the bastion's log stream (see README, recording).
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
