import type { Logger } from '../ports/logger.ts';
import type { ProvisionQueue } from '../ports/provision-queue.ts';

export interface InProcessQueueOptions {
  /** how long a failed message stays invisible before it is delivered again (SQS: the visibility timeout) */
  visibilityTimeoutMs?: number;
  /** deliveries before a message that keeps failing is dead-lettered (SQS redrive policy) */
  maxReceiveCount?: number;
  logger?: Logger;
}

/**
 * The provision queue on one machine, behaving as SQS does for the provisioner: a message is
 * delivered after its delay; a consumer that throws gets it again after the visibility
 * timeout; after maxReceiveCount failed deliveries it is dead-lettered (kept in deadLetters
 * and logged), and the provisioning deadline ends the session as it would in AWS.
 */
export class InProcessQueue implements ProvisionQueue {
  readonly deadLetters: string[] = [];
  private readonly consume: (sessionId: string) => Promise<unknown>;
  private readonly visibilityTimeoutMs: number;
  private readonly maxReceiveCount: number;
  private readonly logger: Logger | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    consume: (sessionId: string) => Promise<unknown>,
    options: InProcessQueueOptions = {},
  ) {
    this.consume = consume;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 5_000;
    this.maxReceiveCount = options.maxReceiveCount ?? 3;
    this.logger = options.logger;
  }

  async enqueue(sessionId: string, options: { delaySeconds?: number } = {}): Promise<void> {
    if (this.stopped) throw new Error('the provision queue is stopped');
    this.deliverLater(sessionId, 1, (options.delaySeconds ?? 0) * 1000);
  }

  private deliverLater(sessionId: string, receiveCount: number, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const run = this.deliver(sessionId, receiveCount).finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private async deliver(sessionId: string, receiveCount: number): Promise<void> {
    try {
      await this.consume(sessionId);
    } catch (error) {
      if (receiveCount >= this.maxReceiveCount) {
        this.deadLetters.push(sessionId);
        this.logger?.error('provision message dead-lettered', { sessionId, receiveCount, error });
        return;
      }
      this.logger?.warn('provisioning failed; the message will be delivered again', {
        sessionId,
        receiveCount,
        error,
      });
      if (!this.stopped) this.deliverLater(sessionId, receiveCount + 1, this.visibilityTimeoutMs);
    }
  }

  /** Resolves when no delivery is running and none is due at once (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Stops delivering: what is still queued is picked up at the next start (recover). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.drain();
  }
}
