import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InProcessQueue } from '../../lib/local/in-process-queue.ts';
import type { Logger } from '../../lib/ports/logger.ts';

function recordingLogger() {
  const lines: { level: string; message: string; attributes?: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, attributes?: Record<string, unknown>): void => {
      lines.push({ level, message, ...(attributes ? { attributes } : {}) });
    };
  const logger: Logger = { info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the in-process provision queue behaves like SQS', () => {
  it('delivers after the delay asked, not before', async () => {
    const consumed: string[] = [];
    const queue = new InProcessQueue(async (id) => consumed.push(id));
    await queue.enqueue('s-1', { delaySeconds: 10 });
    await vi.advanceTimersByTimeAsync(9_999);
    expect(consumed).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(consumed).toEqual(['s-1']);
  });

  it('delivers a failed message again after the visibility timeout, and stops once it succeeds', async () => {
    let calls = 0;
    const queue = new InProcessQueue(
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('table unavailable');
      },
      { visibilityTimeoutMs: 5_000, maxReceiveCount: 3 },
    );
    await queue.enqueue('s-1');
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(2);
    expect(queue.deadLetters).toEqual([]);
  });

  it('dead-letters a message after maxReceiveCount failed deliveries, with a log line', async () => {
    const { logger, lines } = recordingLogger();
    let calls = 0;
    const queue = new InProcessQueue(
      async () => {
        calls += 1;
        throw new Error('always');
      },
      { visibilityTimeoutMs: 1_000, maxReceiveCount: 3, logger },
    );
    await queue.enqueue('s-1');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(3);
    expect(queue.deadLetters).toEqual(['s-1']);
    expect(lines.filter((line) => line.level === 'error')).toEqual([
      expect.objectContaining({
        message: 'provision message dead-lettered',
        attributes: expect.objectContaining({ sessionId: 's-1', receiveCount: 3 }),
      }),
    ]);
  });

  it('delivers nothing more once stopped', async () => {
    const consumed: string[] = [];
    const queue = new InProcessQueue(async (id) => consumed.push(id));
    await queue.enqueue('s-1', { delaySeconds: 1 });
    await queue.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(consumed).toEqual([]);
  });
});
