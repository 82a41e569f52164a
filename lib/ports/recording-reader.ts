import type { ChainHead } from '../domain/recording-chain.ts';
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
   * Where the recording's chain stands now (the last stored chunk): read when the bastion is
   * released and stored on the session, which is then the authority verify checks against.
   */
  head(session: Session): Promise<ChainHead | undefined>;
}
