import { accessToken } from './auth.ts';

/** An API refusal, with the API's own words: the console shows them as they are. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${await accessToken()}`,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'error',
      error?.message ?? `the API answered ${response.status}`,
    );
  }
  return parsed as T;
}

/** The CSV as the API makes it, handed to the browser as a download. */
export async function download(path: string, filename: string): Promise<void> {
  const response = await fetch(path, {
    headers: { authorization: `Bearer ${await accessToken()}`, accept: 'text/csv' },
  });
  if (!response.ok) throw new ApiError(response.status, 'error', 'the download was refused');
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export interface Connection {
  bastion: { host: string; port: number; user: string };
  hostKeyFingerprint?: string;
  hostKey?: string;
  /** the known_hosts line pinning the bastion's host key, and the file the lines read it from */
  knownHosts?: string;
  knownHostsFile?: string;
  target: { host: string; port: number };
  /** a recorded session: a shell on the bastion (sshShell), never a jump or a forward */
  recorded?: boolean;
  sshShell?: string;
  sshJump?: string;
  sshForward?: string;
  sshConfig: string;
}

/** What a session's recording keeps. */
export interface RecordingPolicy {
  mode: 'full' | 'metadata' | 'off';
  input: boolean;
  idleTimeoutMinutes?: number;
  idleEndsSession?: boolean;
}

export interface Session {
  id: string;
  status: string;
  target: string;
  mode: string;
  owner: string;
  sourceCidr?: string;
  reason: string;
  durationMinutes: number;
  createdAt?: string;
  readyAt?: string;
  expiresAt?: string;
  endedAt?: string;
  endReason?: string;
  failureReason?: string;
  breakGlass?: boolean;
  incidentId?: string;
  approval?: {
    approverGroups: string[];
    deadline?: string;
    decidedBy?: string;
    decidedAt?: string;
    comment?: string;
  };
  extendedMinutes?: number;
  recording?: string;
  recordingPolicy?: RecordingPolicy;
  connection?: Connection;
  ssm?: { instanceId: string; documents: string[]; target: { host: string; port: number } };
}

export interface Page<T> {
  items: T[];
  cursor?: string;
}

export interface Review {
  sessionId: string;
  status: 'open' | 'reviewed';
  requester: string;
  target: string;
  incidentId?: string;
  reason: string;
  sourceIp?: string;
  durationMinutes: number;
  requestedAt?: string;
  verdict?: string;
  comment?: string;
  reviewedBy?: string;
  reviewedAt?: string;
}

export interface AuditEvent {
  seq: number;
  at: string;
  type: string;
  actor: string;
  status?: string;
  detail?: Record<string, unknown>;
  hash: string;
}

export interface UsageFigures {
  sessions: number;
  bastionSeconds: number;
  cost: { total: number };
  overstay: { sessions: number; p50Seconds: number; p99Seconds: number; maxSeconds: number };
  breakGlassSessions: number;
}

export interface UsageReport {
  from: string;
  to: string;
  groups: (UsageFigures & { key: string })[];
  totals: UsageFigures;
  days: { day: string; bastionSeconds: number }[];
  /** sessions that became READY in the window, overall and per target */
  timeToReady: { all: TimeToReady; targets: Record<string, TimeToReady> };
}

export interface Percentiles {
  samples: number;
  p50Seconds: number;
  p95Seconds: number;
}

/** Request (or approval) to READY, and its phases: Drawbridge's launch, the cloud's start, boot and proof. */
export interface TimeToReady {
  sessions: number;
  total: Percentiles;
  phases: { launch: Percentiles; running: Percentiles; ready: Percentiles };
}

export const TERMINAL = ['ENDED', 'FAILED'];
export const LIVE = ['REQUESTED', 'PENDING_APPROVAL', 'PROVISIONING', 'READY', 'ENDING'];
