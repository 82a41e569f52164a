import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEvent {
  sessionId: string;
  seq: number;
  at: number;
  type: string;
  actor: string;
  status: string;
  detail?: Record<string, string | number | boolean>;
  prevHash: string;
  hash: string;
}

export type AuditEventBody = Omit<AuditEvent, 'hash'>;

/** Canonical JSON: keys sorted at every depth, so the hash does not depend on insertion order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function hashEvent(body: AuditEventBody): string {
  return createHash('sha256').update(canonical(body)).digest('hex');
}

export function sealEvent(body: AuditEventBody): AuditEvent {
  return { ...body, hash: hashEvent(body) };
}

/** Recomputes the chain; returns the seq of the first broken link, or undefined if intact. */
export function verifyChain(events: readonly AuditEvent[]): { intact: boolean; brokenAt?: number } {
  let prev = GENESIS_HASH;
  for (const [index, event] of events.entries()) {
    const { hash, ...body } = event;
    if (event.seq !== index + 1 || event.prevHash !== prev || hashEvent(body) !== hash) {
      return { intact: false, brokenAt: index + 1 };
    }
    prev = hash;
  }
  return { intact: true };
}
