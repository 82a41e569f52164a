import type { Session } from '../domain/session.ts';
import type { ExpiryScheduler } from '../ports/expiry-scheduler.ts';

/**
 * Layer 2 on one machine: a timer per session at expiresAt. Timers die with the process, so
 * local mode re-arms them from the table at start (see LocalOrchestrator.recover); the reaper
 * remains the backstop exactly as in AWS.
 */
export class LocalExpiryScheduler implements ExpiryScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly fire: (sessionId: string) => Promise<unknown>;
  private readonly now: () => number;

  constructor(fire: (sessionId: string) => Promise<unknown>, now: () => number = Date.now) {
    this.fire = fire;
    this.now = now;
  }

  async schedule(session: Session): Promise<string> {
    if (session.expiresAt === undefined)
      throw new Error('a session is scheduled only once it has expiresAt');
    this.clear(session.id);
    const delay = Math.max(0, session.expiresAt - this.now());
    // setTimeout's limit is ~24.8 days; windows are capped at a day by the policy schema.
    const timer = setTimeout(() => {
      this.timers.delete(session.id);
      void this.fire(session.id);
    }, delay);
    timer.unref();
    this.timers.set(session.id, timer);
    return session.id;
  }

  async cancel(session: Session): Promise<void> {
    this.clear(session.id);
  }

  get armed(): number {
    return this.timers.size;
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private clear(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }
}
