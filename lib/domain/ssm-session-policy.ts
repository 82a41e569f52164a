import { DrawbridgeError } from './errors.ts';
import type { SsmDocument, Target } from './policy.ts';
import { SESSION_ID_PATTERN } from './session.ts';
import {
  ec2InstanceArn,
  type GrantOrigin,
  type GrantScope,
  parseRoleArn,
  refuseGrant,
  type SessionPolicyDocument,
  sessionPolicy,
} from './session-policy.ts';

/**
 * What an ssm grant allows, as plain data: the statements of its inline session policy (the
 * frame, SourceIdentity, tags and duration are every grant's: session-policy.ts), the documents
 * a target's kinds map to, and the `aws ssm start-session` lines. lib/aws/ssm-grant.ts only
 * sends it.
 */

/** AWS-owned Session Manager documents (no account in their ARN). */
export const AWS_DOCUMENTS = {
  ssh: 'AWS-StartSSHSession',
  portForwarding: 'AWS-StartPortForwardingSession',
  portForwardingToRemoteHost: 'AWS-StartPortForwardingSessionToRemoteHost',
} as const;

/** The ssm block of a target, as one of three shapes. */
export type SsmTargetRef =
  | { kind: 'instance'; instanceId: string }
  | { kind: 'tags'; tags: Readonly<Record<string, string>> }
  | { kind: 'fresh' };

export function ssmTargetRef(target: Target): SsmTargetRef {
  const ssm = target.ssm;
  if (target.mode !== 'ssm' || !ssm) {
    throw new DrawbridgeError(`target '${target.name}' is not an ssm target`);
  }
  if (ssm.instanceId) return { kind: 'instance', instanceId: ssm.instanceId };
  if (ssm.instanceTags) return { kind: 'tags', tags: ssm.instanceTags };
  return { kind: 'fresh' };
}

/** Which document each allowed kind maps to, for this target. */
export type SsmDocumentNames = Partial<Record<SsmDocument, string>>;

/**
 * `shell` is the stage's own Session document (its preferences stream the output to the
 * encrypted log group), never the account-wide SSM-SessionManagerRunShell. `port-forwarding`
 * forwards to the instance itself for an existing target, and from a fresh bastion to the
 * target's host (the ToRemoteHost document). IAM cannot pin a document's parameters: the port
 * (and, from a bastion, the host) are limited by the bastion's security group egress or by the
 * target's own firewall and security group, not by the grant.
 */
export function documentNamesFor(target: Target, shellDocument: string): SsmDocumentNames {
  const ref = ssmTargetRef(target);
  const names: SsmDocumentNames = {};
  for (const document of target.ssm?.documents ?? []) {
    if (document === 'shell') names.shell = shellDocument;
    else if (document === 'ssh') names.ssh = AWS_DOCUMENTS.ssh;
    else
      names['port-forwarding'] =
        ref.kind === 'fresh'
          ? AWS_DOCUMENTS.portForwardingToRemoteHost
          : AWS_DOCUMENTS.portForwarding;
  }
  return names;
}

const INSTANCE_ID = /^(?:i-[0-9a-f]{8,17}|mi-[0-9a-f]{17})$/;
const DOCUMENT_NAME = /^[A-Za-z0-9_.-]{3,128}$/;

function invalid(what: string): never {
  return refuseGrant(what, 'ssm');
}

/**
 * Who Session Manager and CloudTrail name as the owner of everything opened with a grant:
 * the assumed role, with the Drawbridge session id as role session name.
 */
export function assumedRoleArn(roleArn: string, sessionId: string): string {
  const { partition, accountId, roleName } = parseRoleArn(roleArn);
  return `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${sessionId}`;
}

/** EC2 instances are `instance/i-…` in EC2's namespace; hybrid nodes `managed-instance/mi-…` in SSM's. */
export function instanceArn(scope: GrantScope, instanceId: string): string {
  if (!INSTANCE_ID.test(instanceId)) invalid('instance id');
  return instanceId.startsWith('mi-')
    ? `arn:${scope.partition}:ssm:${scope.region}:${scope.accountId}:managed-instance/${instanceId}`
    : ec2InstanceArn(scope, instanceId, 'ssm');
}

/** AWS-owned documents have no account in their ARN; the stage's own document does. */
export function documentArn(scope: GrantScope, name: string): string {
  if (!DOCUMENT_NAME.test(name)) invalid('document name');
  const owner = name.startsWith('AWS-') ? '' : scope.accountId;
  return `arn:${scope.partition}:ssm:${scope.region}:${owner}:document/${name}`;
}

/**
 * Session Manager names a session `<role session name>-<random>`, and the role session name is
 * the Drawbridge session id: this pattern matches the sessions opened with this grant and no one
 * else's.
 */
export function ownSessionsArn(scope: GrantScope, sessionId: string): string {
  if (!SESSION_ID_PATTERN.test(sessionId)) invalid('session id');
  return `arn:${scope.partition}:ssm:${scope.region}:${scope.accountId}:session/${sessionId}-*`;
}

export interface SessionPolicyInput extends GrantOrigin {
  sessionId: string;
  /** the managed instance Session Manager may connect to */
  instanceId: string;
  /** names of the allowed Session Manager documents */
  documents: readonly string[];
  /** StartSession and ResumeSession stop working at this moment (epoch ms): the session's expiresAt */
  notAfter: number;
}

/**
 * StartSession needs both the instance and the document allowed; each statement carries the
 * caller's address and the end of the window, so credentials that outlive the window (STS's
 * 15-minute minimum) cannot start anything after it.
 */
export function buildSessionPolicy(input: SessionPolicyInput): SessionPolicyDocument {
  return sessionPolicy('ssm', input, () => {
    if (!Number.isFinite(input.notAfter)) invalid('end of window');
    if (input.documents.length === 0) invalid('document list (empty)');
    const notAfter = new Date(input.notAfter).toISOString();
    const bound = {
      IpAddress: { 'aws:SourceIp': input.sourceCidr },
      DateLessThan: { 'aws:CurrentTime': notAfter },
    };
    return [
      {
        Sid: 'StartOnTheTarget',
        Effect: 'Allow',
        Action: 'ssm:StartSession',
        Resource: instanceArn(input.scope, input.instanceId),
        // Without --document-name Session Manager uses the account's default shell document;
        // this makes IAM check that one too, and the grant does not allow it.
        Condition: { ...bound, Bool: { 'ssm:SessionDocumentAccessCheck': 'true' } },
      },
      {
        Sid: 'AllowedDocuments',
        Effect: 'Allow',
        Action: 'ssm:StartSession',
        Resource: [...new Set(input.documents)].map((name) => documentArn(input.scope, name)),
        Condition: bound,
      },
      {
        Sid: 'ResumeOwnSessions',
        Effect: 'Allow',
        Action: 'ssm:ResumeSession',
        Resource: ownSessionsArn(input.scope, input.sessionId),
        Condition: bound,
      },
      {
        // Ending one's own session early is always allowed, from anywhere.
        Sid: 'EndOwnSessions',
        Effect: 'Allow',
        Action: 'ssm:TerminateSession',
        Resource: ownSessionsArn(input.scope, input.sessionId),
      },
    ];
  });
}

/** Everything a client needs to open Session Manager sessions with a grant. */
export interface SsmConnect {
  instanceId: string;
  region: string;
  /** the document each allowed kind maps to */
  documents: SsmDocumentNames;
  /** where a port forward leads: the instance itself, or (fresh bastion) the target host */
  target: { host: string; port: number };
  /** true when the forward goes from a fresh bastion to target.host (ToRemoteHost) */
  viaBastion: boolean;
  /** the local end suggested for the port forward */
  localPort: number;
}

export interface SsmCommands {
  shell?: string[];
  /** an ssh ProxyCommand through Session Manager; ssh replaces %h and %p */
  sshProxyCommand?: string[];
  portForward?: string[];
}

/**
 * The `aws ssm start-session` argument vectors for a grant (no shell involved: the CLI runs them
 * as they are, the API also prints them joined).
 */
export function ssmCommands(connect: SsmConnect, localPort = connect.localPort): SsmCommands {
  const base = ['aws', 'ssm', 'start-session', '--region', connect.region];
  const commands: SsmCommands = {};
  const { shell, ssh } = connect.documents;
  const forward = connect.documents['port-forwarding'];
  if (shell) commands.shell = [...base, '--target', connect.instanceId, '--document-name', shell];
  if (ssh) {
    commands.sshProxyCommand = [
      ...base,
      '--target',
      '%h',
      '--document-name',
      ssh,
      '--parameters',
      'portNumber=%p',
    ];
  }
  if (forward) {
    const parameters = [
      ...(connect.viaBastion ? [`host=${connect.target.host}`] : []),
      `portNumber=${connect.target.port}`,
      `localPortNumber=${localPort}`,
    ].join(',');
    commands.portForward = [
      ...base,
      '--target',
      connect.instanceId,
      '--document-name',
      forward,
      '--parameters',
      parameters,
    ];
  }
  return commands;
}
