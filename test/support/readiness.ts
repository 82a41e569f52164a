import type { AppDeps } from '../../lib/app/deps.ts';
import { onBastionLogLine, type ProofOutcome } from '../../lib/app/prove-readiness.ts';
import { readinessLine } from '../../lib/domain/readiness.ts';
import type { Session } from '../../lib/domain/session.ts';

/** The stream a session's bastion writes: ec2, its instance id; local, the session id. */
export const streamOf = (session: Session): string =>
  session.mode === 'ec2' ? (session.resources.instanceId ?? '') : session.id;

/** The bastion's readiness line for `session`, as rsyslog writes it to /var/log/secure. */
export const proofMessage = (sessionId: string, fingerprint: string): string =>
  `Nov 24 09:00:05 ip-10-0-1-7 drawbridge-ready[812]: ${readinessLine({ sessionId, fingerprint })}`;

/** What a well-behaved bastion sends once sshd serves the session: its own proof, its own stream. */
export async function deliverProof(deps: AppDeps, sessionId: string): Promise<ProofOutcome> {
  const session = await deps.store.get(sessionId);
  if (!session) throw new Error(`no session ${sessionId}`);
  if (session.mode !== 'ec2' && session.mode !== 'local') throw new Error('no proof in ssm mode');
  return onBastionLogLine(deps, session.mode, {
    stream: streamOf(session),
    message: proofMessage(session.id, session.hostKey?.fingerprint ?? 'SHA256:none'),
  });
}

/** deliverProof, returning the session as it is afterwards. */
export async function proveReady(deps: AppDeps, sessionId: string): Promise<Session> {
  const outcome = await deliverProof(deps, sessionId);
  const session = outcome.session ?? (await deps.store.get(sessionId));
  if (!session) throw new Error(`no session ${sessionId}`);
  return session;
}
