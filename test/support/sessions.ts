import { GENESIS_HASH } from '../../lib/domain/audit.ts';
import { linuxUserFor, newSessionId, type Session } from '../../lib/domain/session.ts';

/** A real ed25519 public key (its private half was thrown away). */
export const ALICE_PUBLIC_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMAxuFiTTRq0eoHISISdARbMjZwpYmsCe6UJFwMVclpr alice@laptop';

/** 2026-03-01T09:00:00Z: a fixed "now" so tests read the same on every run. */
export const BASE_TIME = Date.UTC(2026, 2, 1, 9, 0, 0);

const PROVISIONING_MINUTES = 5;

/**
 * A valid REQUESTED session as the request use case would build it. Times derive from
 * `createdAt` (default BASE_TIME) unless given; `linuxUser` derives from `id`.
 */
export function makeSession(overrides: Partial<Session> = {}): Session {
  const id = overrides.id ?? newSessionId();
  const createdAt = overrides.createdAt ?? BASE_TIME;
  const durationMinutes = overrides.durationMinutes ?? 30;
  const provisioningDeadline = createdAt + PROVISIONING_MINUTES * 60_000;
  return {
    id,
    owner: 'alice',
    ownerGroups: ['engineers'],
    sourceIp: '203.0.113.10',
    sourceCidr: '203.0.113.10/32',
    target: 'prod-db',
    mode: 'local',
    reason: 'investigate INC-1234 slow queries',
    publicKey: ALICE_PUBLIC_KEY,
    durationMinutes,
    linuxUser: linuxUserFor(id),
    status: 'REQUESTED',
    version: 0,
    createdAt,
    updatedAt: createdAt,
    provisioningDeadline,
    credentialExpiresAt: provisioningDeadline + durationMinutes * 60_000,
    resources: {},
    auditSeq: 0,
    auditHead: GENESIS_HASH,
    ...overrides,
  };
}
