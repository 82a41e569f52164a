/** Hands a REQUESTED session to the provisioner asynchronously (API Gateway stops waiting at 30 s). */
export interface ProvisionQueue {
  /** `delaySeconds` (at most 900) holds the message back: a readiness check that comes again later. */
  enqueue(sessionId: string, options?: { delaySeconds?: number }): Promise<void>;
}
