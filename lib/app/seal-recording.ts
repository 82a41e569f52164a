import { ConfigError, StaleSessionError } from '../domain/errors.ts';
import { settleRecording } from '../domain/recording-chain.ts';
import { type Session, SessionStatus } from '../domain/session.ts';
import type { AppDeps } from './deps.ts';
import { applyEvent } from './record.ts';

type SealDeps = Pick<AppDeps, 'store' | 'auditLog' | 'clock' | 'logger'> &
  Partial<Pick<AppDeps, 'recordings'>>;

export type SealOutcome = 'sealed' | 'waiting' | 'not-due';

const MAX_RACE_RETRIES = 3;

/**
 * The reaper's look at an ended session whose recording was still settling (RecordingSettle):
 * a closed recording (every connection's end chunk arrived) is sealed with its head; one that
 * is not waits for the next sweep, until its deadline, when what arrived is sealed as not
 * closed, so verify says the recording was cut short instead of holding it to a head it never
 * had. A read that finds nothing waits for the deadline too (a late agent or a deleted stream
 * must not pass for an empty, closed recording). Nothing sleeps: each sweep reads once.
 */
export async function sealRecording(deps: SealDeps, session: Session): Promise<SealOutcome> {
  let current = session;
  for (let attempt = 0; ; attempt += 1) {
    const settle = current.recordingSettle;
    const now = deps.clock.now();
    if (current.status !== SessionStatus.ENDED || !settle || now < settle.checkAt) return 'not-due';
    if (!deps.recordings)
      throw new ConfigError('this composition has no recording reader to seal with');
    const stored = await deps.recordings.read(current);
    const head = stored.kind === 'chunks' ? settleRecording(current.id, stored.lines) : undefined;
    // Nothing arrived is not a closed recording: the agent may be late, or the stream gone.
    // It waits for the deadline like any unclosed one, and is then sealed as not closed.
    const closed = head?.closed ?? false;
    if (!closed && now < settle.deadline) return 'waiting';
    try {
      await applyEvent(
        deps,
        current,
        { type: 'seal-recording', ...(head ? { recordingHead: head } : {}) },
        {
          type: 'recording-sealed',
          actor: 'drawbridge',
          detail: { chunks: head?.seq ?? 0, closed },
        },
      );
      if (!closed)
        deps.logger.warn('a recording was sealed without its end: the bastion went first', {
          sessionId: current.id,
          chunks: head?.seq ?? 0,
        });
      return 'sealed';
    } catch (error) {
      // A replay's audit event (or another sweep) wrote the session first: look again.
      if (!(error instanceof StaleSessionError) || attempt >= MAX_RACE_RETRIES) throw error;
      const fresh = await deps.store.get(current.id);
      if (!fresh) throw error;
      current = fresh;
    }
  }
}
