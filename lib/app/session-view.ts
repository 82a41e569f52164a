import type { AuditEvent } from '../domain/audit.ts';
import type { Policy } from '../domain/policy.ts';
import { findTarget } from '../domain/policy.ts';
import { type Session, SessionStatus } from '../domain/session.ts';
import type { ConnectionRecord } from '../domain/sshd-log.ts';

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

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1)$/;

/**
 * The local end suggested for the port forward: the target's own port (10000+ below 1024),
 * except where the target listens on the very machine that runs the forward (local mode),
 * where that port is taken by the target itself: there a port in 20000-29999 drawn from the
 * session id. The CLI checks it is free and picks another if not.
 */
export function suggestedLocalPort(sessionId: string, target: { host: string; port: number }) {
  const usual = target.port < 1024 ? 10_000 + target.port : target.port;
  if (usual !== target.port || !LOOPBACK.test(target.host)) return usual;
  let hash = 0;
  for (const char of sessionId) hash = (hash * 31 + char.charCodeAt(0)) % 10_000;
  const port = 20_000 + hash;
  return port === target.port ? port + 1 : port;
}

export function connectionView(session: Session, policy: Policy): ConnectionView | undefined {
  const connection = session.connection;
  const target = findTarget(policy, session.target);
  // An ssm session has no ssh endpoint: its way in is the credentials (ssmView).
  if (session.status !== SessionStatus.READY || !connection || !target || session.mode === 'ssm')
    return undefined;
  const bastion = `${connection.linuxUser}@${hostForSsh(connection.bastionHost)}`;
  const jump = connection.bastionPort === 22 ? bastion : `${bastion}:${connection.bastionPort}`;
  const alias = `drawbridge-${session.target}`;
  const localPort = suggestedLocalPort(session.id, target);
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

export interface SsmView {
  /** the managed instance Session Manager connects to */
  instanceId: string;
  /** the kinds the grant allows (shell, ssh, port-forwarding) */
  documents: string[];
  target: { host: string; port: number };
  /** POST here (as the owner, from the requesting address) for temporary credentials */
  credentials: string;
}

/** How a READY ssm session is used: ask for its credentials, then `aws ssm start-session`. */
export function ssmView(session: Session, policy: Policy): SsmView | undefined {
  const target = findTarget(policy, session.target);
  const instanceId = session.resources.targetInstanceId ?? session.resources.instanceId;
  if (session.mode !== 'ssm' || session.status !== SessionStatus.READY || !instanceId)
    return undefined;
  return {
    instanceId,
    documents: [...(target?.ssm?.documents ?? [])],
    target: { host: target?.host ?? '', port: target?.port ?? 0 },
    credentials: `/sessions/${session.id}/credentials`,
  };
}

export function sessionView(session: Session, policy: Policy) {
  const connection = connectionView(session, policy);
  const ssm = ssmView(session, policy);
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
    // Set anew at approval: while a request waits for one, its deadline is the approval's.
    provisioningDeadline:
      session.status === SessionStatus.PENDING_APPROVAL
        ? undefined
        : iso(session.provisioningDeadline),
    readyAt: iso(session.readyAt),
    expiresAt: iso(session.expiresAt),
    endedAt: iso(session.endedAt),
    endReason: session.endReason,
    failureReason: session.failureReason,
    ...(session.breakGlass ? { breakGlass: true, incidentId: session.incidentId } : {}),
    // full: the terminal is recorded; metadata: connections and forwards only
    ...(session.recording ? { recording: session.recording } : {}),
    ...(session.approval
      ? {
          approval: {
            approverGroups: session.approval.approverGroups,
            deadline: iso(session.approval.deadline),
            decidedBy: session.approval.decidedBy,
            decidedAt: iso(session.approval.decidedAt),
            comment: session.approval.comment,
          },
        }
      : {}),
    ...(session.extendedMinutes ? { extendedMinutes: session.extendedMinutes } : {}),
    ...(connection ? { connection } : {}),
    ...(ssm ? { ssm } : {}),
    links: {
      self: `/sessions/${session.id}`,
      events: `/sessions/${session.id}/events`,
      ...(session.mode === 'ssm' ? { credentials: `/sessions/${session.id}/credentials` } : {}),
    },
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
  return {
    ...record,
    ...(record.at === undefined ? {} : { at: new Date(record.at).toISOString() }),
  };
}
