import { StaleSessionError, UnrecordedBastionError } from '../domain/errors.ts';
import { parseReadinessLine } from '../domain/readiness.ts';
import { type Session, SessionStatus } from '../domain/session.ts';
import { type AppDeps, providerFor } from './deps.ts';
import { failSession } from './end-session.ts';
import { markReady } from './provision-session.ts';

/** One line of a bastion's own log, as its log sink delivered it. */
export interface BastionLogLine {
  /**
   * The stream the line was written to: ec2, the CloudWatch stream the agent names after the
   * instance id (only that instance can write it); local, the session's own sshd.log.
   */
  stream: string;
  message: string;
}

export type ProofOutcome =
  | { outcome: 'ready'; session: Session }
  | { outcome: 'ignored'; why: string; session?: Session }
  | { outcome: 'failed'; session: Session };

/** The proof came before the bastion's state says running (EC2's API lags): deliver it again. */
export class BastionNotRunningYetError extends Error {
  constructor(sessionId: string) {
    super(`session ${sessionId}: the bastion is not reported running yet`);
    this.name = 'BastionNotRunningYetError';
  }
}

const ignored = (why: string, session?: Session): ProofOutcome => ({
  outcome: 'ignored',
  why,
  ...(session ? { session } : {}),
});

/**
 * A bastion's readiness proof → READY, the window starting now. Only a well-formed proof, from
 * the stream of the session's own bastion, naming that session, for a session still
 * PROVISIONING, carrying the fingerprint of the host key Drawbridge issued; anything else
 * changes nothing (a forged or stray line can never start a window or end a session).
 */
export async function onBastionLogLine(
  deps: AppDeps,
  mode: 'ec2' | 'local',
  line: BastionLogLine,
): Promise<ProofOutcome> {
  // The running signal and the proof arrive close together and both write the session: the
  // one that loses the conditional write reads the session again and decides anew.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await acceptProof(deps, mode, line);
    } catch (error) {
      if (!(error instanceof StaleSessionError) || attempt >= STALE_ATTEMPTS) throw error;
    }
  }
}

const STALE_ATTEMPTS = 3;

async function acceptProof(
  deps: AppDeps,
  mode: 'ec2' | 'local',
  line: BastionLogLine,
): Promise<ProofOutcome> {
  const proof = parseReadinessLine(line.message);
  if (!proof) return ignored('not a readiness proof');
  const session =
    mode === 'ec2'
      ? await deps.store.findByInstanceId(line.stream)
      : await deps.store.get(line.stream);
  if (!session || session.mode !== mode) return ignored('no session owns this stream');
  const ownStream =
    mode === 'ec2' ? session.resources.instanceId === line.stream : session.id === line.stream;
  if (!ownStream || proof.sessionId !== session.id) {
    deps.logger.warn('a readiness proof named another session than its stream; ignored', {
      sessionId: session.id,
      stream: line.stream,
      named: proof.sessionId,
    });
    return ignored("the proof is not from the session's own stream", session);
  }
  if (session.status !== SessionStatus.PROVISIONING)
    return ignored(`the session is ${session.status}`, session);
  if (session.hostKey?.fingerprint !== proof.fingerprint) {
    deps.logger.warn('a bastion proved a host key Drawbridge did not issue; ignored', {
      sessionId: session.id,
      issued: session.hostKey?.fingerprint,
      proved: proof.fingerprint,
    });
    return ignored('the host key is not the one Drawbridge issued', session);
  }
  if (mode === 'local' && session.resources.pid === undefined)
    throw new UnrecordedBastionError(session.id);
  const state = await providerFor(deps.providers, session.mode).inspect(session);
  if (state.state === 'gone')
    return {
      outcome: 'failed',
      session: await failSession(deps, session, 'the bastion stopped before it was ready'),
    };
  if (state.state !== 'running') throw new BastionNotRunningYetError(session.id);
  const ready = await markReady(
    deps,
    session,
    { ...state.connection, hostKeyFingerprint: proof.fingerprint },
    {},
    'readiness-proof',
  );
  return ready.status === SessionStatus.READY
    ? { outcome: 'ready', session: ready }
    : ignored(`the session is ${ready.status}`, ready);
}
