/** Hands a REQUESTED session to the provisioner asynchronously (API Gateway stops waiting at 30 s). */
export interface ProvisionQueue {
  enqueue(sessionId: string): Promise<void>;
}
