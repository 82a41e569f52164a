import { isThrottling } from './aws-errors.ts';

const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;

export interface ThrottleRetry {
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  maxRetries: number;
}

/**
 * Retries a throttled AWS call with full jitter, reusing the caller's input (and so any
 * ClientToken). Anything other than throttling, or the last attempt, is thrown as is.
 */
export async function retryThrottled<T>(call: () => Promise<T>, retry: ThrottleRetry): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottling(error) || attempt >= retry.maxRetries) throw error;
      await retry.sleep(retry.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
    }
  }
}
