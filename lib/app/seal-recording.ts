import { ConfigError, StaleSessionError } from '../domain/errors.ts';
import type { LifecycleEvent } from '../domain/lifecycle.ts';
import { advanceChain, type ChainCheckpoint, headOf } from '../domain/recording-chain.ts';
import { type Session, SessionStatus } from '../domain/session.ts';
import type { AppDeps } from './deps.ts';
import { applyEvent } from './record.ts';

type SealDeps = Pick<AppDeps, 'store' | 'auditLog' | 'clock' | 'logger'> &
  Partial<Pick<AppDeps, 'recordings'>>;

/** reading: a step of a long recording was read and its checkpoint stored; more to read */
export type SealOutcome = 'sealed' | 'reading' | 'waiting' | 'not-due';

const MAX_RACE_RETRIES = 3;

/**
 * How long after its deadline the reaper goes on reading a recording whose end it has not
 * reached yet. One step a sweep (the reader's page bound, 50 pages of up to 1 MB) over a day is
 * some 70 GB: more than a recorder shipping a terminal's output can have stored for one
 * session, so only a recording that cannot be read on is held up this long (every line of one
 * step filed in the same millisecond, a store answering short). It is then sealed with the head
 * of what was read, not closed, and the trail says the read did not reach the end: a head
 * from a prefix, said to be one, is still a bound on what was read; no head at all would
 * leave the whole recording unchecked.
 */
export const RECORDING_READ_CAP_MS = 24 * 60 * 60_000;

type SealEvent = Extract<LifecycleEvent, { type: 'seal-recording' | 'recording-read-progress' }>;

interface Step {
  event: SealEvent;
  /** the audit event written with it */
  audit: { type: string; detail: Record<string, number | boolean | string> };
  outcome: 'sealed' | 'reading';
  /** said once the write is done */
  warning?: { message: string; chunks: number };
}

/**
 * The reaper's look at an ended session whose recording was still settling (RecordingSettle):
 * a closed recording (every connection's end chunk arrived) is sealed with its head; one that
 * is not waits for the next sweep, until its deadline, when what arrived is sealed as not
 * closed, so verify says the recording was cut short instead of holding it to a head it never
 * had. A read that finds nothing waits for the deadline too (a late agent or a deleted stream
 * must not pass for an empty, closed recording).
 *
 * Each sweep reads one bounded step. A recording longer than that (a flood of output can make
 * one as long as anyone likes) is read on from where the last sweep stopped, the checkpoint
 * kept on the session, until the end of what is stored is reached; only then do the rules
 * above apply, the deadline included: a head taken from a prefix would pass for the end, and
 * sealing with none would leave the recording's end unchecked for good. Nothing sleeps.
 */
export async function sealRecording(deps: SealDeps, session: Session): Promise<SealOutcome> {
  let current = session;
  for (let attempt = 0; ; attempt += 1) {
    const settle = current.recordingSettle;
    const now = deps.clock.now();
    if (current.status !== SessionStatus.ENDED || !settle || now < settle.checkAt) return 'not-due';
    if (!deps.recordings)
      throw new ConfigError('this composition has no recording reader to seal with');
    const from = settle.read;
    const stored = await deps.recordings.readChunks(current, from?.at);
    const read = advanceChain(current.id, from, stored.lines);
    const step = stepOf(read, from, stored.partial, now, settle.deadline);
    if (!step) return 'waiting';
    try {
      await applyEvent(deps, current, step.event, { actor: 'drawbridge', ...step.audit });
      if (step.warning)
        deps.logger.warn(step.warning.message, {
          sessionId: current.id,
          chunks: step.warning.chunks,
        });
      return step.outcome;
    } catch (error) {
      // A replay's audit event (or another sweep) wrote the session first: look again.
      if (!(error instanceof StaleSessionError) || attempt >= MAX_RACE_RETRIES) throw error;
      const fresh = await deps.store.get(current.id);
      if (!fresh) throw error;
      current = fresh;
    }
  }
}

/** What to write after this step: a checkpoint, a seal, or nothing (undefined: wait). */
function stepOf(
  read: ChainCheckpoint,
  from: ChainCheckpoint | undefined,
  partial: boolean,
  now: number,
  deadline: number,
): Step | undefined {
  const problem: Record<string, string | number> = read.problem
    ? { problem: read.problem.kind, brokenAt: read.problem.seq }
    : {};
  if (partial && now < deadline + RECORDING_READ_CAP_MS) {
    // Nothing new in a whole step (every line of it filed in the millisecond already read):
    // a checkpoint would be the same one, so nothing is written, and the cap decides.
    if (from && read.chunks === from.chunks && read.at === from.at) return undefined;
    return {
      event: { type: 'recording-read-progress', read, checkAt: now },
      audit: {
        type: 'recording-read-progress',
        detail: { chunksRead: read.chunks, seq: read.seq, ...problem },
      },
      outcome: 'reading',
    };
  }
  const head = headOf(read);
  // Nothing arrived is not a closed recording: the agent may be late, or the stream gone.
  // It waits for the deadline like any unclosed one, and is then sealed as not closed. A read
  // cut off by the cap never says closed: what follows its end was not read.
  const closed = !partial && (head?.closed ?? false);
  if (!closed && now < deadline) return undefined;
  const sealedHead = head ? { ...head, closed } : undefined;
  return {
    event: { type: 'seal-recording', ...(sealedHead ? { recordingHead: sealedHead } : {}) },
    audit: {
      type: 'recording-sealed',
      detail: {
        chunks: head?.seq ?? 0,
        closed,
        ...(partial ? { reachedEnd: false } : {}),
        ...problem,
      },
    },
    outcome: 'sealed',
    ...(partial
      ? {
          warning: {
            message: 'a recording could not be read to its end in time: sealed with what was read',
            chunks: read.chunks,
          },
        }
      : closed
        ? {}
        : {
            warning: {
              message: 'a recording was sealed without its end: the bastion went first',
              chunks: head?.seq ?? 0,
            },
          }),
  };
}
