/**
 * Reads sshd's log lines (LogLevel VERBOSE) into connection records: who connected, from
 * where, and which forwards were refused. Lines may carry a syslog prefix (CloudWatch agent
 * shipping /var/log/secure) or none (local sshd -e). Anything unrecognised is skipped: the
 * log is evidence, never interpreted as instructions.
 */
export type ConnectionKind =
  | 'connected'
  | 'authenticated'
  | 'refused-forward'
  | 'disconnected'
  | 'auth-failed';

export interface ConnectionRecord {
  kind: ConnectionKind;
  /** epoch ms when the log carries a time */
  at?: number;
  address: string;
  port: number;
  user?: string;
  /** for refused forwards: the host:port that was asked for */
  target?: string;
  /** the key's fingerprint for authenticated connections */
  key?: string;
}

const ADDRESS = String.raw`([0-9a-fA-F.:]{2,45})`;
const PORT = String.raw`(\d{1,5})`;
const USER = String.raw`([a-z_][a-z0-9_-]{0,31})`;

const PATTERNS: {
  kind: ConnectionKind;
  pattern: RegExp;
  fields: (m: RegExpExecArray) => Partial<ConnectionRecord>;
}[] = [
  {
    kind: 'connected',
    pattern: new RegExp(`^Connection from ${ADDRESS} port ${PORT} on `),
    fields: (m) => ({ address: m[1] ?? '', port: Number(m[2]) }),
  },
  {
    kind: 'authenticated',
    pattern: new RegExp(
      `^Accepted publickey for ${USER} from ${ADDRESS} port ${PORT} ssh2: \\S+ (SHA256:[A-Za-z0-9+/]{43})`,
    ),
    fields: (m) => ({ user: m[1] ?? '', address: m[2] ?? '', port: Number(m[3]), key: m[4] ?? '' }),
  },
  {
    kind: 'refused-forward',
    pattern: new RegExp(
      `^refused local port forward: originator ${ADDRESS} port ${PORT}, target ([A-Za-z0-9.:_-]{1,253}) port ${PORT}`,
    ),
    fields: (m) => ({
      address: m[1] ?? '',
      port: Number(m[2]),
      target: `${m[3] ?? ''}:${m[4] ?? ''}`,
    }),
  },
  {
    // PermitOpen / permitopen= denials (OpenSSH logs these at INFO)
    kind: 'refused-forward',
    pattern: new RegExp(
      `^Received request from ${ADDRESS} port ${PORT} to connect to host ([A-Za-z0-9.:_-]{1,253}) port ${PORT}, but the request was denied`,
    ),
    fields: (m) => ({
      address: m[1] ?? '',
      port: Number(m[2]),
      target: `${m[3] ?? ''}:${m[4] ?? ''}`,
    }),
  },
  {
    kind: 'disconnected',
    pattern: new RegExp(`^Disconnected from user ${USER} ${ADDRESS} port ${PORT}`),
    fields: (m) => ({ user: m[1] ?? '', address: m[2] ?? '', port: Number(m[3]) }),
  },
  {
    kind: 'auth-failed',
    pattern: new RegExp(
      `^(?:Connection closed by authenticating user ${USER}|Invalid user \\S{0,64} from) ${ADDRESS} port ${PORT}`,
    ),
    fields: (m) => ({ ...(m[1] ? { user: m[1] } : {}), address: m[2] ?? '', port: Number(m[3]) }),
  },
];

/** "Nov 24 07:39:20 ip-10-0-1-5 sshd[1234]: message" → "message"; bare lines pass through. */
const SYSLOG_PREFIX =
  /^[A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2} \S{1,255} sshd(?:-session)?\[\d{1,10}\]: /;

export function parseSshdLine(line: string, at?: number): ConnectionRecord | undefined {
  if (line.length > 2048) return undefined;
  const message = line.replace(SYSLOG_PREFIX, '');
  for (const { kind, pattern, fields } of PATTERNS) {
    const match = pattern.exec(message);
    if (!match) continue;
    const record = { kind, ...fields(match) } as ConnectionRecord;
    if (!Number.isInteger(record.port) || record.port > 65535) return undefined;
    return at === undefined ? record : { ...record, at };
  }
  return undefined;
}
