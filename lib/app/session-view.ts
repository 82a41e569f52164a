import type { AuditEvent } from '../domain/audit.ts';
import type { ConnectionRecord } from '../domain/sshd-log.ts';
import type { Policy } from '../domain/policy.ts';
import { findTarget } from '../domain/policy.ts';
import { type Session, SessionStatus } from '../domain/session.ts';

const iso = (epochMs: number | undefined): string | undefined =>
  epochMs === undefined ? undefined : new Date(epochMs).toISOString();

export interface ConnectionView {
  bastion: { host: string; port: number; user: string };
  hostKeyFingerprint?: string;
  target: { host: string; port: number };
  /** ssh -J through the bastion, for targets that speak SSH */
  sshJump: string;
  /** a local port forward, for anything else (databases, HTTP) */
  sshForward: string;
  /** paste into ~/.ssh/config */
  sshConfig: string;
}

const hostForSsh = (host: string): string => (host.includes(':') ? `[${host}]` : host);

export function connectionView(session: Session, policy: Policy): ConnectionView | undefined {
  const connection = session.connection;
  const target = findTarget(policy, session.target);
  if (session.status !== SessionStatus.READY || !connection || !target) return undefined;
  const bastion = `${connection.linuxUser}@${hostForSsh(connection.bastionHost)}`;
  const jump = connection.bastionPort === 22 ? bastion : `${bastion}:${connection.bastionPort}`;
  const alias = `drawbridge-${session.target}`;
  const localPort = target.port < 1024 ? 10_000 + target.port : target.port;
  return {
    bastion: {
      host: connection.bastionHost,
      port: connection.bastionPort,
      user: connection.linuxUser,
    },
    ...(connection.hostKeyFingerprint ? { hostKeyFingerprint: connection.hostKeyFingerprint } : {}),
    target: { host: target.host, port: target.port },
    sshJump: `ssh -J ${jump}${target.port === 22 ? '' : ` -p ${target.port}`} ${hostForSsh(target.host)}`,
    sshForward: `ssh -N -L 127.0.0.1:${localPort}:${hostForSsh(target.host)}:${target.port} -p ${connection.bastionPort} ${bastion}`,
    sshConfig: [
      `Host ${alias}`,
      `  HostName ${connection.bastionHost}`,
      `  Port ${connection.bastionPort}`,
      `  User ${connection.linuxUser}`,
      '  IdentitiesOnly yes',
      `  LocalForward 127.0.0.1:${localPort} ${hostForSsh(target.host)}:${target.port}`,
      '  SessionType none',
      '',
    ].join('\n'),
  };
}

export function sessionView(session: Session, policy: Policy) {
  const connection = connectionView(session, policy);
  return {
    id: session.id,
    status: session.status,
    target: session.target,
    mode: session.mode,
    owner: session.owner,
    sourceCidr: session.sourceCidr,
    reason: session.reason,
    durationMinutes: session.durationMinutes,
    createdAt: iso(session.createdAt),
    provisioningDeadline: iso(session.provisioningDeadline),
    readyAt: iso(session.readyAt),
    expiresAt: iso(session.expiresAt),
    endedAt: iso(session.endedAt),
    endReason: session.endReason,
    failureReason: session.failureReason,
    ...(connection ? { connection } : {}),
    links: { self: `/sessions/${session.id}`, events: `/sessions/${session.id}/events` },
  };
}
export type SessionView = ReturnType<typeof sessionView>;

export function eventView(event: AuditEvent) {
  return {
    seq: event.seq,
    at: new Date(event.at).toISOString(),
    type: event.type,
    actor: event.actor,
    status: event.status,
    ...(event.detail ? { detail: event.detail } : {}),
    prevHash: event.prevHash,
    hash: event.hash,
  };
}

export function connectionRecordView(record: ConnectionRecord) {
  return { ...record, ...(record.at === undefined ? {} : { at: new Date(record.at).toISOString() }) };
}
