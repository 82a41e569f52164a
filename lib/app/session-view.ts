import type { AuditEvent } from '../domain/audit.ts';
import { knownHostsLine } from '../domain/host-key.ts';
import type { Policy } from '../domain/policy.ts';
import { findTarget } from '../domain/policy.ts';
import { type RecordingPolicyView, recordingTerms } from '../domain/recording-terms.ts';
import { type Session, SessionStatus } from '../domain/session.ts';
import { sshConfigBlock } from '../domain/ssh-config.ts';
import type { ConnectionRecord } from '../domain/sshd-log.ts';
import { phaseDurations } from '../domain/time-to-ready.ts';

const iso = (epochMs: number | undefined): string | undefined =>
  epochMs === undefined ? undefined : new Date(epochMs).toISOString();

interface BastionView {
  bastion: { host: string; port: number; user: string };
  hostKeyFingerprint?: string;
  /** the bastion's host key Drawbridge issued (`ssh-ed25519 AAAA…`): pin it, never trust on first use */
  hostKey?: string;
  /** the line to put in the session's known_hosts file (the printed lines read that file) */
  knownHosts?: string;
  /** the file the printed lines trust the bastion's host key from (`~/.ssh/…`): knownHosts goes in it */
  knownHostsFile: string;
  target: { host: string; port: number };
  /** paste into ~/.ssh/config */
  sshConfig: string;
}

/** An unrecorded session: the bastion is a hop (jump or port forward) to the target. */
export interface TunnelConnectionView extends BastionView {
  recorded?: never;
  /** ssh -J through the bastion, for targets that speak SSH */
  sshJump: string;
  /** a local port forward, for anything else (databases, HTTP) */
  sshForward: string;
}

/**
 * A recorded session (recording: full): a terminal on the bastion under the recorder, which
 * refuses -J, -W, -L, -N, sftp and commands. The target is reached from that shell (its client
 * tools, or an onward ssh whose whole screen is recorded), so no jump or forward line is given.
 */
export interface RecordedConnectionView extends BastionView {
  recorded: true;
  /** `ssh -tt … user@bastion`: the recorded shell */
  sshShell: string;
}

export type ConnectionView = TunnelConnectionView | RecordedConnectionView;

/**
 * The mode is the one the session was requested under; input and idle terms are the target's
 * as the policy states them now, which is what its bastion was provisioned with unless the
 * policy changed during the session.
 */
export function recordingPolicyView(session: Session, policy: Policy): RecordingPolicyView {
  return recordingTerms(session.recording ?? 'metadata', findTarget(policy, session.target));
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
  // ssm and eice sessions have no bastion: their way in is the credentials (ssmView, eiceView).
  if (
    session.status !== SessionStatus.READY ||
    !connection ||
    !target ||
    session.mode === 'ssm' ||
    session.mode === 'eice'
  )
    return undefined;
  const bastion = `${connection.linuxUser}@${hostForSsh(connection.bastionHost)}`;
  const alias = `drawbridge-${session.target}`;
  const pinned = session.hostKey;
  // The file the printed lines read; the known_hosts line goes into it (the CLI writes it).
  const knownHostsFile = `~/.ssh/drawbridge-${session.id}.known_hosts`;
  const strict = `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHostsFile}`;
  const base: Omit<BastionView, 'sshConfig'> = {
    bastion: {
      host: connection.bastionHost,
      port: connection.bastionPort,
      user: connection.linuxUser,
    },
    ...(connection.hostKeyFingerprint ? { hostKeyFingerprint: connection.hostKeyFingerprint } : {}),
    ...(pinned
      ? {
          hostKey: pinned.publicKey,
          knownHosts: knownHostsLine(connection.bastionHost, connection.bastionPort, pinned),
        }
      : {}),
    knownHostsFile,
    target: { host: target.host, port: target.port },
  };
  const block = {
    alias,
    host: connection.bastionHost,
    port: connection.bastionPort,
    user: connection.linuxUser,
    knownHostsFile,
  };
  if (session.recording === 'full') {
    return {
      ...base,
      recorded: true,
      sshShell: `ssh -tt ${strict} -p ${connection.bastionPort} ${bastion}`,
      sshConfig: sshConfigBlock({ ...block, use: { shell: true } }),
    };
  }
  const localPort = suggestedLocalPort(session.id, target);
  return {
    ...base,
    // -J starts the first hop without our -o options: the hop reads them from the config
    // snippet's Host block, so the jump line goes through its alias.
    sshJump: `ssh -J ${alias}${target.port === 22 ? '' : ` -p ${target.port}`} ${hostForSsh(target.host)}`,
    sshForward: `ssh ${strict} -N -L 127.0.0.1:${localPort}:${hostForSsh(target.host)}:${target.port} -p ${connection.bastionPort} ${bastion}`,
    sshConfig: sshConfigBlock({
      ...block,
      use: { forward: { localPort, host: target.host, port: target.port } },
    }),
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

export interface EiceView {
  /** the instance the tunnel leads to */
  instanceId: string;
  /** the EC2 Instance Connect Endpoint the tunnel goes through */
  endpointId: string;
  port: number;
  /** the user ssh logs in as (SSH targets) */
  osUser?: string;
  /** POST here (as the owner, from the requesting address) for the tunnel grant */
  credentials: string;
}

/** How a READY eice session is used: ask for its credentials, then open-tunnel. */
export function eiceView(session: Session, policy: Policy): EiceView | undefined {
  const { targetInstanceId, eiceEndpointId } = session.resources;
  if (
    session.mode !== 'eice' ||
    session.status !== SessionStatus.READY ||
    !targetInstanceId ||
    !eiceEndpointId
  )
    return undefined;
  const target = findTarget(policy, session.target);
  return {
    instanceId: targetInstanceId,
    endpointId: eiceEndpointId,
    port: target?.port ?? 0,
    ...(target?.eice?.osUser ? { osUser: target.eice.osUser } : {}),
    credentials: `/sessions/${session.id}/credentials`,
  };
}

/** The modes whose way in is POST /sessions/{id}/credentials. */
const GRANT_MODES = new Set<Session['mode']>(['ssm', 'eice']);

export function sessionView(session: Session, policy: Policy) {
  const connection = connectionView(session, policy);
  const ssm = ssmView(session, policy);
  const eice = eiceView(session, policy);
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
    // Seconds per phase (launch sent, instance running, readiness proof), once READY.
    ...(session.readyAt !== undefined ? { timeToReady: phaseDurations(session) } : {}),
    expiresAt: iso(session.expiresAt),
    endedAt: iso(session.endedAt),
    endReason: session.endReason,
    failureReason: session.failureReason,
    ...(session.breakGlass ? { breakGlass: true, incidentId: session.incidentId } : {}),
    // full: the terminal is recorded; metadata: connections and forwards only
    ...(session.recording ? { recording: session.recording } : {}),
    recordingPolicy: recordingPolicyView(session, policy),
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
    ...(eice ? { eice } : {}),
    links: {
      self: `/sessions/${session.id}`,
      events: `/sessions/${session.id}/events`,
      ...(GRANT_MODES.has(session.mode)
        ? { credentials: `/sessions/${session.id}/credentials` }
        : {}),
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
