import type { ProvisionQueue } from '../ports/provision-queue.ts';

/**
 * The provision queue on one machine: provisioning runs right after the request is answered,
 * as SQS would trigger it. Failures are logged by the consumer; a lost run is caught by the
 * provisioning deadline exactly as a dead-lettered message would be.
 */
export class InProcessQueue implements ProvisionQueue {
  private readonly consume: (sessionId: string) => Promise<unknown>;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(consume: (sessionId: string) => Promise<unknown>) {
    this.consume = consume;
  }

  async enqueue(sessionId: string, options: { delaySeconds?: number } = {}): Promise<void> {
    const delayMs = (options.delaySeconds ?? 0) * 1000;
    const run = new Promise<void>((resolve) =>
      delayMs > 0 ? setTimeout(resolve, delayMs).unref() : setImmediate(resolve),
    )
      .then(() => this.consume(sessionId))
      .catch(() => undefined)
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  /** Resolves when everything queued so far has been consumed (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
