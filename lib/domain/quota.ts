import { QuotaExceededError } from './errors.ts';
import { QuotaKind } from './session.ts';

/**
 * The 429 a user sees when a new session would go over their quota. `active` is the counter
 * as the store found it, when it could tell (it may lag or be missing).
 */
export function quotaExceeded(
  quota: number,
  kind: QuotaKind = QuotaKind.standard,
  active?: number,
): QuotaExceededError {
  if (kind === QuotaKind.breakGlass) {
    return new QuotaExceededError(
      `you already have ${quota} live break-glass session${quota === 1 ? '' : 's'}, the most this policy allows; end one first`,
    );
  }
  if (quota <= 0) return new QuotaExceededError('this policy allows you no live sessions');
  const count = active !== undefined && Number.isFinite(active) ? Math.max(active, quota) : quota;
  return new QuotaExceededError(
    `you already have ${count} live session${count === 1 ? '' : 's'}, the most this policy allows; end one first`,
  );
}
