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
 */
export type StoredRecording =
  | { kind: 'chunks'; lines: string[] }
  | { kind: 'terminal'; output: TerminalOutput[] };

/** Reads recordings; only the recorder writes them. */
export interface RecordingReader {
  read(session: Session): Promise<StoredRecording>;
  /**
   * How long after the bastion is released its recording's last chunks can still arrive here:
   * 0 where the store is the recorder's own file (local), about the shipping agent's flush
   * interval plus the instance's shutdown on ec2. The head is read no earlier than this
   * after the release (lib/app/seal-recording.ts).
   */
  readonly lateArrivalMs: number;
}
