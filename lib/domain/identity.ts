import { UnauthorizedError } from './errors.ts';
import type { Identity } from './session.ts';

const GROUP_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const MAX_GROUPS = 100;

/**
 * A list-valued claim in every shape it arrives in: a JSON array, a JSON array as a string,
 * API Gateway HTTP API's flattened "[a b c]", or a comma/space separated string.
 */
function claimItems(claim: unknown): unknown[] {
  if (Array.isArray(claim)) return claim;
  if (typeof claim !== 'string') return [];
  const text = claim.trim();
  const bracketed = text.startsWith('[') && text.endsWith(']');
  let parsed: unknown;
  if (bracketed) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  // "[123]" or "[true]" is API Gateway's flattening of a one-item claim, not a JSON array of
  // non-strings: only a JSON array of strings is read as JSON.
  const isStringArray =
    Array.isArray(parsed) && parsed.every((item: unknown) => typeof item === 'string');
  return isStringArray
    ? (parsed as unknown[])
    : (bracketed ? text.slice(1, -1) : text).split(/[\s,]+/);
}

/**
 * Reads the groups claim in every shape it arrives in: a JSON array (local tokens, Cognito
 * via a Lambda authorizer), API Gateway HTTP API's flattened "[a b c]" string, or a
 * comma/space separated string. Names that are not plain group names are dropped, never
 * interpreted.
 */
export function parseGroupsClaim(claim: unknown): string[] {
  const items = claimItems(claim);
  const groups = new Set<string>();
  for (const item of items) {
    if (typeof item === 'string' && GROUP_PATTERN.test(item)) groups.add(item);
    if (groups.size >= MAX_GROUPS) break;
  }
  return [...groups];
}

/**
 * Identity from verified JWT claims: the subject, the configured groups claim, and what the
 * token says about how the person signed in (`amr`, `auth_time`) for fresh-MFA targets.
 */
export function identityFromClaims(
  claims: Record<string, unknown> | undefined,
  groupsClaim: string,
): Identity {
  const subject = claims?.sub;
  if (
    typeof subject !== 'string' ||
    subject.length === 0 ||
    subject.length > 256 ||
    !/^[\x20-\x7e]+$/.test(subject)
  ) {
    throw new UnauthorizedError('the token has no usable subject');
  }
  const amr = parseAmrClaim(claims?.amr);
  const authTime = parseAuthTimeClaim(claims?.auth_time);
  return {
    subject,
    groups: parseGroupsClaim(claims?.[groupsClaim]),
    ...(amr.length > 0 ? { amr } : {}),
    ...(authTime !== undefined ? { authTime } : {}),
  };
}

const AMR_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_AMR = 20;

/**
 * The `amr` claim (RFC 8176 method names) in the shapes the groups claim comes in (API
 * Gateway flattens ["pwd","mfa"] to "[pwd mfa]"). Anything that is not a plain method name is
 * dropped, so a strange value can only ever weaken what the token proves.
 */
export function parseAmrClaim(claim: unknown): string[] {
  const items = claimItems(claim);
  const methods = new Set<string>();
  for (const item of items) {
    if (typeof item === 'string' && AMR_PATTERN.test(item)) methods.add(item);
    if (methods.size >= MAX_AMR) break;
  }
  return [...methods];
}

/** `auth_time` in seconds, as a number or (API Gateway flattens claims) a numeric string → ms. */
export function parseAuthTimeClaim(claim: unknown): number | undefined {
  const seconds =
    typeof claim === 'number'
      ? claim
      : typeof claim === 'string' && /^\d{1,12}$/.test(claim.trim())
        ? Number(claim.trim())
        : Number.NaN;
  // Past the year 9999 is not a sign-in time (and would overflow as milliseconds).
  if (!Number.isSafeInteger(seconds) || seconds <= 0 || seconds > 253_402_300_799) return undefined;
  return seconds * 1000;
}
