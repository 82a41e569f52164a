import { ConfigError, StaleSessionError } from '../domain/errors.ts';
import type { LifecycleEvent } from '../domain/lifecycle.ts';
import { settleRecording } from '../domain/recording-chain.ts';
import { type Session, SessionStatus } from '../domain/session.ts';
import type { StoredRecording } from '../ports/recording-reader.ts';
import type { AppDeps } from './deps.ts';
import { applyEvent } from './record.ts';

type SealDeps = Pick<AppDeps, 'store' | 'auditLog' | 'clock' | 'logger'> &
  Partial<Pick<AppDeps, 'recordings'>>;

export type SealOutcome = 'sealed' | 'waiting' | 'not-due';

const MAX_RACE_RETRIES = 3;

interface Seal {
  event: Extract<LifecycleEvent, { type: 'seal-recording' }>;
  detail: Record<string, number | boolean>;
  /** said once the seal is written */
  warning?: { message: string; chunks: number };
}

/**
 * The reaper's look at an ended session whose recording was still settling (RecordingSettle):
 * a closed recording (every connection's end chunk arrived) is sealed with its head; one that
 * is not waits for the next sweep, until its deadline, when what arrived is sealed as not
 * closed, so verify says the recording was cut short instead of holding it to a head it never
 * had. A read that finds nothing waits for the deadline too (a late agent or a deleted stream
 * must not pass for an empty, closed recording). A read too long to finish here (partial) is
 * sealed at once without a head: a head taken from a prefix would pass for the end. Nothing
 * sleeps: each sweep reads once.
 */
export async function sealRecording(deps: SealDeps, session: Session): Promise<SealOutcome> {
  let current = session;
  for (let attempt = 0; ; attempt += 1) {
    const settle = current.recordingSettle;
    const now = deps.clock.now();
    if (current.status !== SessionStatus.ENDED || !settle || now < settle.checkAt) return 'not-due';
    if (!deps.recordings)
      throw new ConfigError('this composition has no recording reader to seal with');
    const seal = sealOf(current, await deps.recordings.read(current), now < settle.deadline);
    if (!seal) return 'waiting';
    try {
      await applyEvent(deps, current, seal.event, {
        type: 'recording-sealed',
        actor: 'drawbridge',
        detail: seal.detail,
      });
      if (seal.warning)
        deps.logger.warn(seal.warning.message, {
          sessionId: current.id,
          chunks: seal.warning.chunks,
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

/** What to seal from this read, or undefined to wait for a later sweep. */
function sealOf(
  session: Session,
  stored: StoredRecording,
  beforeDeadline: boolean,
): Seal | undefined {
  if (stored.partial) {
    // Too long to read whole here: the last chunk read is not the head and whether the
    // recording closed cannot be told, so no head is stored, ever. Waiting would not help (a
    // recording only grows, so every later read is partial too). The trail says the seal could
    // not read it all, and verify reports the recording as partial, never intact.
    const read = stored.kind === 'chunks' ? stored.lines.length : stored.output.length;
    return {
      event: { type: 'seal-recording' },
      detail: { partial: true, chunksRead: read },
      warning: {
        message: 'a recording was too long to read whole: sealed without a head',
        chunks: read,
      },
    };
  }
  const head = stored.kind === 'chunks' ? settleRecording(session.id, stored.lines) : undefined;
  // Nothing arrived is not a closed recording: the agent may be late, or the stream gone.
  // It waits for the deadline like any unclosed one, and is then sealed as not closed.
  const closed = head?.closed ?? false;
  if (!closed && beforeDeadline) return undefined;
  return {
    event: { type: 'seal-recording', ...(head ? { recordingHead: head } : {}) },
    detail: { chunks: head?.seq ?? 0, closed },
    ...(closed
      ? {}
      : {
          warning: {
            message: 'a recording was sealed without its end: the bastion went first',
            chunks: head?.seq ?? 0,
          },
        }),
  };
}
