import type { StoredLine } from '../domain/recording-chain.ts';
import type { Session } from '../domain/session.ts';

/** Terminal output some other recorder kept (Session Manager's own log, ssm sessions). */
export interface TerminalOutput {
  /** epoch ms */
  at: number;
  text: string;
}

/**
 * A session's recording as stored off the bastion: the recorder's chunk lines in stored order
 * (ec2: the session's CloudWatch log stream; local: the log store), or for ssm shells Session
 * Manager's output. Empty when nothing was recorded.
 *
 * `partial`: the read stopped before the end of what is stored (a reader bounds how much one
 * request reads), so what it holds is only the recording's beginning. Nobody may take such a
 * read for the whole: not to seal its head, not to call it intact, not to serve it as complete.
 * Required, so a new reader has to say which it is.
 */
export type StoredRecording =
  | { kind: 'chunks'; lines: string[]; partial: boolean }
  | { kind: 'terminal'; output: TerminalOutput[]; partial: boolean };

/**
 * One bounded step of the recorder's chunk lines, for the reaper's seal: the lines in stored
 * order with the time each was filed under. `partial`: there is more after the last line.
 */
export interface RecordingStep {
  lines: StoredLine[];
  partial: boolean;
}

/** Reads recordings; only the recorder writes them. */
export interface RecordingReader {
  read(session: Session): Promise<StoredRecording>;
  /**
   * The recorder's chunk lines filed at or after `from` (epoch ms; all when absent), as many as
   * one bounded read gives: the seal reads a long recording step by step across sweeps and
   * resumes at the time of the last line it read (lib/domain/recording-chain.ts advanceChain),
   * never with a paging token, which expires. A store that keeps no times gives every line at
   * 0 and all of them in one step. Nothing for a session recorded elsewhere (ssm).
   */
  readChunks(session: Session, from?: number): Promise<RecordingStep>;
  /**
   * How long after the bastion is released its recording's last chunks can still arrive here:
   * 0 where the store is the recorder's own file (local), about the shipping agent's flush
   * interval plus the instance's shutdown on ec2. The head is read no earlier than this
   * after the release (lib/app/seal-recording.ts).
   */
  readonly lateArrivalMs: number;
}
