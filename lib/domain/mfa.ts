import { UnauthorizedError } from './errors.ts';
import type { Identity } from './session.ts';

/**
 * RFC 8176 `amr` values that show a factor beyond a password: `mfa` itself, one-time codes,
 * keys held in hardware or software (WebAuthn/passkeys), smart cards, biometrics, a second
 * channel. `pwd`, `pin`, `kba` alone are one factor.
 */
export const SECOND_FACTORS: readonly string[] = [
  'mfa',
  'otp',
  'hwk',
  'swk',
  'sc',
  'sms',
  'tel',
  'mca',
  'fpt',
  'face',
  'iris',
  'retina',
  'vbm',
];

/** A sign-in time this far in the future is a token from a skewed or lying issuer, not fresh. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface MfaRequirement {
  maxAgeMinutes: number;
}

export const hasSecondFactor = (identity: Identity): boolean =>
  (identity.amr ?? []).some((method) => SECOND_FACTORS.includes(method));

/**
 * Throws 401 unless the token shows a second factor (`amr`) and a sign-in (`auth_time`) no
 * older than the requirement allows. `what` names what asked for it, for the message.
 */
export function requireFreshMfa(
  identity: Identity,
  requirement: MfaRequirement | undefined,
  now: number,
  what: string,
): void {
  if (!requirement) return;
  const again = `sign in again with MFA and retry (${what} needs a sign-in with a second factor within the last ${requirement.maxAgeMinutes} minutes)`;
  if (!hasSecondFactor(identity)) {
    throw new UnauthorizedError(`your token shows no second factor: ${again}`);
  }
  const authTime = identity.authTime;
  if (authTime === undefined || authTime > now + CLOCK_SKEW_MS) {
    throw new UnauthorizedError(`your token does not say when you signed in: ${again}`);
  }
  const ageMinutes = Math.floor((now - authTime) / 60_000);
  if (now - authTime > requirement.maxAgeMinutes * 60_000) {
    throw new UnauthorizedError(`you signed in ${ageMinutes} minutes ago: ${again}`);
  }
}
