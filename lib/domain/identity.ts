import { UnauthorizedError } from './errors.ts';
import type { Identity } from './session.ts';

const GROUP_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const MAX_GROUPS = 100;

/**
 * Reads the groups claim in every shape it arrives in: a JSON array (local tokens, Cognito
 * via a Lambda authorizer), API Gateway HTTP API's flattened "[a b c]" string, or a
 * comma/space separated string. Names that are not plain group names are dropped, never
 * interpreted.
 */
export function parseGroupsClaim(claim: unknown): string[] {
  let items: unknown[];
  if (Array.isArray(claim)) items = claim;
  else if (typeof claim === 'string') {
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
    // "[123]" or "[true]" is API Gateway's flattening of a one-group claim, not a JSON array of
    // non-strings: only a JSON array of strings is read as JSON.
    const isStringArray =
      Array.isArray(parsed) && parsed.every((item: unknown) => typeof item === 'string');
    items = isStringArray
      ? (parsed as unknown[])
      : (bracketed ? text.slice(1, -1) : text).split(/[\s,]+/);
  } else items = [];
  const groups = new Set<string>();
  for (const item of items) {
    if (typeof item === 'string' && GROUP_PATTERN.test(item)) groups.add(item);
    if (groups.size >= MAX_GROUPS) break;
  }
  return [...groups];
}

/** Identity from verified JWT claims: the subject and the configured groups claim. */
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
  return { subject, groups: parseGroupsClaim(claims?.[groupsClaim]) };
}
