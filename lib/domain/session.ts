import { randomBytes } from 'node:crypto';

export const SessionStatus = {
  REQUESTED: 'REQUESTED',
  PROVISIONING: 'PROVISIONING',
  READY: 'READY',
  ENDING: 'ENDING',
  ENDED: 'ENDED',
  FAILED: 'FAILED',
} as const;
export type SessionStatus = (typeof SessionStatus)[keyof typeof SessionStatus];

/** Statuses in which a session still holds (or is about to hold) cloud resources and quota. */
export const LIVE_STATUSES: readonly SessionStatus[] = [
  SessionStatus.REQUESTED,
  SessionStatus.PROVISIONING,
  SessionStatus.READY,
  SessionStatus.ENDING,
];
export const isLive = (status: SessionStatus): boolean => LIVE_STATUSES.includes(status);
export const isTerminal = (status: SessionStatus): boolean => !isLive(status);

export const EndReason = {
  expired: 'expired',
  revoked: 'revoked',
  failed: 'failed',
  orphan: 'orphan',
} as const;
export type EndReason = (typeof EndReason)[keyof typeof EndReason];

export const MODES = ['ec2', 'ssm', 'local'] as const;
export type Mode = (typeof MODES)[number];

/** Ids of whatever the provider created for the session; all optional, filled as they appear. */
export interface SessionResources {
  instanceId?: string;
  securityGroupId?: string;
  subnetId?: string;
  instanceType?: string;
  scheduleName?: string;
  /** local mode: pid of the sshd process group leader */
  pid?: number;
}

/** How to reach the bastion once READY. */
export interface Connection {
  bastionHost: string;
  bastionPort: number;
  linuxUser: string;
  hostKeyFingerprint?: string;
}

export interface Identity {
  subject: string;
  groups: readonly string[];
}

/** Timestamps are epoch milliseconds; the API renders them as ISO 8601. */
export interface Session {
  id: string;
  owner: string;
  ownerGroups: string[];
  sourceIp: string;
  sourceCidr: string;
  target: string;
  mode: Mode;
  reason: string;
  publicKey: string;
  durationMinutes: number;
  linuxUser: string;
  status: SessionStatus;
  version: number;
  createdAt: number;
  updatedAt: number;
  provisioningDeadline: number;
  /** Upper bound written into the key's expiry-time and the self-destruct at launch. */
  credentialExpiresAt: number;
  readyAt?: number;
  expiresAt?: number;
  endedAt?: number;
  endReason?: EndReason;
  failureReason?: string;
  resources: SessionResources;
  connection?: Connection;
  /** seq and hash of the last audit event; the store advances them with every write */
  auditSeq: number;
  auditHead: string;
}

const SESSION_ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const SESSION_ID_PATTERN = /^s-[0-9a-hjkmnp-tv-z]{20}$/;

/** 100 bits of randomness, Crockford base32, lower case: safe as ClientToken, tag, file name. */
export function newSessionId(): string {
  const bytes = randomBytes(20);
  let id = 's-';
  for (const byte of bytes) id += SESSION_ID_ALPHABET[byte & 31];
  return id;
}

export const isSessionId = (value: string): boolean => SESSION_ID_PATTERN.test(value);

/** Linux user on the bastion: derived from the id so it needs no input from the caller. */
export const linuxUserFor = (sessionId: string): string => `db-${sessionId.slice(2, 14)}`;
