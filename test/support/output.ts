import { afterEach, beforeEach, vi } from 'vitest';
import { logger } from '../../lib/aws/logger.ts';

/**
 * Everything the process writes to stdout and stderr during each test of the calling describe,
 * with the logger at DEBUG: what a test reads to prove a secret was never logged.
 */
export function useCapturedOutput(): { text(): string } {
  const written: string[] = [];
  let writes: ReturnType<typeof vi.spyOn>[] = [];
  beforeEach(() => {
    written.length = 0;
    const capture = (chunk: unknown): boolean => {
      written.push(String(chunk));
      return true;
    };
    writes = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    logger.setLogLevel('DEBUG');
  });
  afterEach(() => {
    for (const spy of writes) spy.mockRestore();
    logger.setLogLevel('SILENT');
  });
  return { text: () => written.join('') };
}
