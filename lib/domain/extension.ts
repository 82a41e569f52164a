import { ConflictError, IllegalTransitionError, ValidationError } from './errors.ts';
import { findTarget, type Policy, type Target } from './policy.ts';
import type { Session } from './session.ts';

const MINUTE = 60_000;

/**
 * The "expiring soon" notice is due this long before the window ends; the reaper, which runs
 * once a minute, sends it within the minute after, so it arrives 4–5 minutes before the end.
 */
export const EXPIRY_WARNING_MINUTES = 5;

/** The most minutes one extension may add (the policy's maxima are at most a day anyway). */
export const MAX_EXTENSION_MINUTES = 24 * 60;

/**
 * Layer 1 and extensions. An ec2 bastion's key carries an `expiry-time` written at launch,
 * before READY is known, and nothing can rewrite it afterwards (there is no way in but the
 * key itself). So the bound written at launch is
 *
 *     provisioning deadline + min(target maximum, requested duration + extensionHeadroomMinutes)
 *
 * and an extension may move the window up to that bound and no further. The trade-off: with
 * headroom H the key may outlive the window by at most H minutes (plus the provisioning time
 * that was not used); the scheduled end (layer 2) and the reaper (layer 3) still end the
 * session at its window, and the self-destruct (layer 4) stays at the launch bound plus grace.
 * Where the provider can rewrite the key on the running bastion (local mode), the bound moves
 * with the window and the headroom is not needed.
 */
export function credentialWindowMinutes(
  target: Pick<Target, 'extensionHeadroomMinutes'>,
  durationMinutes: number,
  maxMinutes: number,
): number {
  return Math.max(
    durationMinutes,
    Math.min(maxMinutes, durationMinutes + target.extensionHeadroomMinutes),
  );
}

/** The longest window the session may ever have, under the policy as it is now. */
export function maxTotalMinutesFor(policy: Policy, session: Session): number | undefined {
  const target = findTarget(policy, session.target);
  if (!target) return undefined;
  if (!session.breakGlass) return target.maxDurationMinutes;
  // A break-glass session keeps the shorter break-glass maximum, even if break-glass has since
  // been removed from the policy.
  return Math.min(
    target.maxDurationMinutes,
    policy.breakGlass?.maxDurationMinutes ?? target.maxDurationMinutes,
  );
}

/** When the "expiring soon" notice is due for a window ending at `expiresAt`, if one is owed. */
export function expiryWarningAt(
  session: Pick<Session, 'notify'>,
  expiresAt: number,
  now: number,
): number | undefined {
  if (!session.notify?.includes('expiring')) return undefined;
  const at = expiresAt - EXPIRY_WARNING_MINUTES * MINUTE;
  return at > now ? at : undefined;
}

export interface ExtensionRequest {
  byMinutes: number;
  /** the policy's maximum total window for this session (maxTotalMinutesFor) */
  maxTotalMinutes: number;
  /** the provider can rewrite the key on the running bastion (Provider.extend) */
  canRewriteKey: boolean;
  now: number;
}

export type ExtensionPlan = Pick<
  Session,
  'expiresAt' | 'durationMinutes' | 'extendedMinutes' | 'credentialExpiresAt' | 'expiryWarningAt'
>;

const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/**
 * The fields an extension changes, or a 4xx that says how much is still possible. Never past
 * READY + the maximum total, never past the key's bound unless the key can be rewritten.
 */
export function planExtension(session: Session, request: ExtensionRequest): ExtensionPlan {
  const { byMinutes, maxTotalMinutes, canRewriteKey, now } = request;
  if (!Number.isInteger(byMinutes) || byMinutes < 1 || byMinutes > MAX_EXTENSION_MINUTES) {
    throw new ValidationError(
      `byMinutes must be a whole number of minutes from 1 to ${MAX_EXTENSION_MINUTES}`,
    );
  }
  const { readyAt, expiresAt } = session;
  if (readyAt === undefined || expiresAt === undefined) {
    throw new IllegalTransitionError('only a READY session can be extended');
  }
  if (now >= expiresAt) {
    throw new IllegalTransitionError('the window has already ended; request a new session');
  }
  const next = expiresAt + byMinutes * MINUTE;
  const maxEnd = readyAt + maxTotalMinutes * MINUTE;
  if (next > maxEnd) {
    const left = Math.max(0, Math.floor((maxEnd - expiresAt) / MINUTE));
    throw new ValidationError(
      left === 0
        ? `the session already has the maximum of ${maxTotalMinutes} minutes this policy allows; request a new session`
        : `extending by ${byMinutes} minutes would pass the maximum of ${maxTotalMinutes} minutes this policy allows; at most ${left} more`,
    );
  }
  if (!canRewriteKey && next > session.credentialExpiresAt) {
    const left = Math.max(0, Math.floor((session.credentialExpiresAt - expiresAt) / MINUTE));
    throw new ConflictError(
      `the bastion's key stops working at ${iso(session.credentialExpiresAt)} (the bound written at launch) and cannot be changed on this bastion; ${
        left === 0 ? 'no extension is possible' : `at most ${left} more minutes`
      }: request a new session for longer`,
    );
  }
  const warnAt = expiryWarningAt(session, next, now);
  return {
    expiresAt: next,
    durationMinutes: session.durationMinutes + byMinutes,
    extendedMinutes: (session.extendedMinutes ?? 0) + byMinutes,
    credentialExpiresAt: canRewriteKey
      ? Math.max(session.credentialExpiresAt, next)
      : session.credentialExpiresAt,
    ...(warnAt !== undefined ? { expiryWarningAt: warnAt } : {}),
  };
}
