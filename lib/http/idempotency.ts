import { createHash } from 'node:crypto';

/** Hash of the parsed body with sorted keys: the same request in other whitespace or key order matches. */
export function bodyHash(body: Record<string, unknown>): string {
  const sorted = Object.fromEntries(
    Object.entries(body).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}
