import type { ChainHead } from '../domain/recording-chain.ts';

/**
 * Where a session's recording chunks land off the bastion: the session's CloudWatch log stream
 * (ec2) or the local log store (local). Read-only for the API: only the recorder writes.
 */
export interface RecordingStore {
  /** the stored chunk lines in stored order; empty when nothing was recorded */
  lines(sessionId: string): Promise<string[]>;
  /** the chain head the session stored when its bastion ended; undefined while live */
  head(sessionId: string): Promise<ChainHead | undefined>;
}
