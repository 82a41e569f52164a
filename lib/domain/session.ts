import { randomBytes } from 'node:crypto';
import type { HostKey } from './host-key.ts';
import type { ChainCheckpoint, RecordingHead } from './recording-chain.ts';

export const SessionStatus = {
  REQUESTED: 'REQUESTED',
  /** waiting for a member of the target's approver groups; holds quota, no resources */
  PENDING_APPROVAL: 'PENDING_APPROVAL',
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
  SessionStatus.PENDING_APPROVAL,
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
  /** an approver said no before anything was launched */
  denied: 'denied',
  /** no terminal activity for the target's idleTimeoutMinutes (recorded sessions) */
  idle: 'idle',
} as const;
export type EndReason = (typeof EndReason)[keyof typeof EndReason];

export const MODES = ['ec2', 'ssm', 'eice', 'local'] as const;
export type Mode = (typeof MODES)[number];

/** Ids of whatever the provider created for the session; all optional, filled as they appear. */
export interface SessionResources {
  instanceId?: string;
  securityGroupId?: string;
  subnetId?: string;
  instanceType?: string;
  /** local mode: pid of the sshd process group leader */
  pid?: number;
  /**
   * ssm mode, existing target: the managed instance the grant points at. Never `instanceId`,
   * which always means a bastion Drawbridge launched and terminates: this one is not ours.
   */
  targetInstanceId?: string;
  /** eice mode: the EC2 Instance Connect Endpoint the grant opens tunnels through */
  eiceEndpointId?: string;
  /** eice mode: the endpoint's DNS name, so the client needs no EC2 Describe permission */
  eiceEndpointDns?: string;
  /** eice mode: the target instance's private address, pinned by the grant */
  privateIpAddress?: string;
}

/**
 * A recording whose last chunks may still be on their way when its session ends: on ec2 the
 * bastion's CloudWatch agent ships the recorder's file every 5 s, so the end chunk of a
 * connection cut by the termination (and anything in the agent's buffer) lands after the
 * release. The reaper reads the recording from `checkAt` on, stores its head once it is closed,
 * and at `deadline` stores whatever arrived, marked not closed (the bastion went first).
 * A recording too long for one read is read a bounded step per sweep, `read` saying where the
 * last step stopped, until the end of what is stored is reached (lib/app/seal-recording.ts).
 */
export interface RecordingSettle {
  checkAt: number;
  deadline: number;
  read?: ChainCheckpoint;
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
  /** the token's authentication methods (`amr`), e.g. ['pwd', 'mfa']; empty when absent */
  amr?: readonly string[];
  /** when the person last signed in (`auth_time`), epoch ms */
  authTime?: number;
}

/** Which per-owner quota counter a session holds: break-glass has its own. */
export const QuotaKind = { standard: 'standard', breakGlass: 'break-glass' } as const;
export type QuotaKind = (typeof QuotaKind)[keyof typeof QuotaKind];

/** What a session notifies on, besides the break-glass alert (which always goes). */
export const NOTIFY_EVENTS = ['granted', 'expiring', 'ended'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** An approval the session waited for (or still waits for). */
export interface Approval {
  /** the target's approver groups when the request was made */
  approverGroups: string[];
  /** the request is refused if nobody approved by then (epoch ms) */
  deadline: number;
  decidedBy?: string;
  decidedAt?: number;
  comment?: string;
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
  /** phase timestamps (time to ready): the launch call sent, the provider's first "running" */
  launchSentAt?: number;
  bastionRunningAt?: number;
  readyAt?: number;
  expiresAt?: number;
  endedAt?: number;
  endReason?: EndReason;
  failureReason?: string;
  resources: SessionResources;
  /**
   * The bastion's host key Drawbridge issued at launch (public half only: the private half
   * never reaches the table). READY requires the bastion to prove it serves this key.
   */
  hostKey?: HostKey;
  connection?: Connection;
  /** the counter the quota was taken from (and is given back to); absent means standard */
  quotaKind?: QuotaKind;
  /** opened through break-glass: no approval, its own quota and maximum, reviewed afterwards */
  breakGlass?: boolean;
  /** break-glass only: the incident the responder named, e.g. INC-123 */
  incidentId?: string;
  approval?: Approval;
  /** minutes added to the window by extensions, in total */
  extendedMinutes?: number;
  /** what the owner's target notifies on (copied from the policy at request) */
  notify?: NotifyEvent[];
  /** when the "expiring soon" notice is due; removed once it went out */
  expiryWarningAt?: number;
  /** how the target recorded it when requested (full: the terminal; metadata: connections); absent = metadata */
  recording?: 'full' | 'metadata' | 'off';
  /**
   * The recording's chain head (last chunk's seq and hash) once nothing more can arrive, and
   * whether the recording was closed: a recording later cut short or extended no longer
   * reaches it. The authority verify checks against (lib/domain/recording-chain.ts). Written in
   * the 'ended' transition when the recording is read where it is written (local), else by the
   * reaper once the recording settled ('seal-recording').
   */
  recordingHead?: RecordingHead;
  /** ended, head not yet stored: the recording may still be growing (see RecordingSettle) */
  recordingSettle?: RecordingSettle;
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
