import type { Session } from '../domain/session.ts';
import type { ExpiryScheduler } from '../ports/expiry-scheduler.ts';

/** Longest a timer sleeps before it looks at the clock again. */
const MAX_TICK_MS = 1_000;

/**
 * Layer 2 on one machine: a timer per session that fires at expiresAt by the orchestrator's
 * clock. It wakes at least every second to look at that clock rather than trusting one long
 * setTimeout, so a clock that jumps (a laptop resumed from sleep, a test moving time) still
 * ends the session within a second of expiresAt. Timers die with the process: local mode
 * re-arms them from the table at start (see LocalOrchestrator.recover); the reaper remains the
 * backstop exactly as in AWS.
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
    const expiresAt = session.expiresAt;
    if (expiresAt === undefined)
      throw new Error('a session is scheduled only once it has expiresAt');
    this.clear(session.id);
    this.arm(session.id, expiresAt);
    return session.id;
  }

  private arm(sessionId: string, expiresAt: number): void {
    const delay = Math.max(0, expiresAt - this.now());
    const timer = setTimeout(
      () => {
        if (this.timers.get(sessionId) !== timer) return;
        if (this.now() < expiresAt) {
          this.arm(sessionId, expiresAt);
          return;
        }
        this.timers.delete(sessionId);
        void this.fire(sessionId);
      },
      Math.min(delay, MAX_TICK_MS),
    );
    timer.unref();
    this.timers.set(sessionId, timer);
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
