import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalExpiryScheduler } from '../../lib/local/local-expiry-scheduler.ts';
import { makeSession } from '../support/sessions.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 10, 24, 9, 0, 0) });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the local scheduled end (layer 2)', () => {
  it('fires at expiresAt, not before', async () => {
    const fired: string[] = [];
    const scheduler = new LocalExpiryScheduler(async (id) => fired.push(id));
    const session = makeSession({ expiresAt: Date.now() + 60_000 });
    await scheduler.schedule(session);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual([session.id]);
    expect(scheduler.armed).toBe(0);
  });

  it('notices within a second a clock that jumped past expiresAt', async () => {
    const fired: string[] = [];
    let offset = 0;
    const scheduler = new LocalExpiryScheduler(
      async (id) => fired.push(id),
      () => Date.now() + offset,
    );
    const session = makeSession({ expiresAt: Date.now() + 30 * 60_000 });
    await scheduler.schedule(session);
    offset = 30 * 60_000;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fired).toEqual([session.id]);
  });

  it('fires nothing for a cancelled or moved schedule', async () => {
    const fired: string[] = [];
    const scheduler = new LocalExpiryScheduler(async (id) => fired.push(id));
    const session = makeSession({ expiresAt: Date.now() + 10_000 });
    await scheduler.schedule(session);
    await scheduler.schedule({ ...session, expiresAt: Date.now() + 20_000 });
    await vi.advanceTimersByTimeAsync(15_000);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fired).toEqual([session.id]);
    await scheduler.schedule({ ...session, expiresAt: Date.now() + 10_000 });
    await scheduler.cancel(session);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fired).toEqual([session.id]);
  });
});
