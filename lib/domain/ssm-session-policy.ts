import { createHash } from 'node:crypto';
import { DrawbridgeError } from './errors.ts';
import { parseCidr } from './network.ts';
import type { SsmDocument, Target } from './policy.ts';
import { SESSION_ID_PATTERN, type Session } from './session.ts';

/**
 * What an ssm grant is made of, built as plain data so it can be checked (and property-tested)
 * without STS: the inline session policy, the SourceIdentity, the session tags and the
 * duration that go into AssumeRole. lib/aws/ssm-grant.ts only sends them.
 */

/** STS refuses shorter role sessions. */
export const STS_MIN_DURATION_SECONDS = 900;
/**
 * The grant function's own credentials are a role session, so its AssumeRole is role chaining,
 * which AWS caps at one hour whatever the role's MaxSessionDuration says. Longer windows get
 * fresh credentials from POST /sessions/{id}/credentials (the CLI asks again).
 */
export const ROLE_CHAINING_MAX_SECONDS = 3600;
/** Plain-text limit of an inline session policy. */
export const MAX_SESSION_POLICY_CHARS = 2048;

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

/** Where the grant applies: the partition, region and account of the session role. */
export interface GrantScope {
  partition: string;
  region: string;
  accountId: string;
}

const PARTITION = /^aws(?:-[a-z]+)*$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
const INSTANCE_ID = /^(?:i-[0-9a-f]{8,17}|mi-[0-9a-f]{17})$/;
const DOCUMENT_NAME = /^[A-Za-z0-9_.-]{3,128}$/;
const ROLE_ARN = /^arn:(aws(?:-[a-z]+)*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

function invalid(what: string): never {
  throw new DrawbridgeError(`refusing to build an ssm grant: invalid ${what}`);
}

function checkScope(scope: GrantScope): void {
  if (!PARTITION.test(scope.partition)) invalid('partition');
  if (!REGION.test(scope.region)) invalid('region');
  if (!ACCOUNT.test(scope.accountId)) invalid('account');
}

export interface RoleArnParts {
  partition: string;
  accountId: string;
  roleName: string;
}

export function parseRoleArn(arn: string): RoleArnParts {
  const match = ROLE_ARN.exec(arn);
  if (!match?.[1] || !match[2] || !match[3]) invalid('session role ARN');
  return { partition: match[1], accountId: match[2], roleName: match[3] };
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
    : `arn:${scope.partition}:ec2:${scope.region}:${scope.accountId}:instance/${instanceId}`;
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

export interface SessionPolicyInput {
  scope: GrantScope;
  sessionId: string;
  /** the managed instance Session Manager may connect to */
  instanceId: string;
  /** names of the allowed Session Manager documents */
  documents: readonly string[];
  /** the caller's address as a /32 or /128 */
  sourceCidr: string;
  /** StartSession and ResumeSession stop working at this moment (epoch ms): the session's expiresAt */
  notAfter: number;
}

interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

export interface SessionPolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}

/**
 * The inline session policy: the grant's permissions are the intersection of this and the
 * session role's own policy. StartSession needs both the instance and the document allowed;
 * each statement carries the caller's address and the end of the window, so credentials that
 * outlive the window (STS's 15-minute minimum) cannot start anything after it.
 */
export function buildSessionPolicy(input: SessionPolicyInput): SessionPolicyDocument {
  checkScope(input.scope);
  let cidr: ReturnType<typeof parseCidr>;
  try {
    cidr = parseCidr(input.sourceCidr);
  } catch {
    invalid('source address');
  }
  if (cidr.prefix !== (cidr.version === 4 ? 32 : 128)) invalid('source address (not one host)');
  if (!Number.isFinite(input.notAfter)) invalid('end of window');
  if (input.documents.length === 0) invalid('document list (empty)');
  const notAfter = new Date(input.notAfter).toISOString();
  const bound = {
    IpAddress: { 'aws:SourceIp': input.sourceCidr },
    DateLessThan: { 'aws:CurrentTime': notAfter },
  };
  return {
    Version: '2012-10-17',
    Statement: [
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
    ],
  };
}

/** The policy as sent to STS, refused if it would exceed the inline session policy limit. */
export function serializeSessionPolicy(policy: SessionPolicyDocument): string {
  const text = JSON.stringify(policy);
  if (text.length > MAX_SESSION_POLICY_CHARS) {
    invalid(`session policy (${text.length} characters, STS allows ${MAX_SESSION_POLICY_CHARS})`);
  }
  return text;
}

/** Fitted to the window; at least STS's minimum, at most what role chaining allows. */
export function grantDurationSeconds(now: number, notAfter: number): number {
  const remaining = Math.ceil((notAfter - now) / 1000);
  if (!Number.isFinite(remaining)) return STS_MIN_DURATION_SECONDS;
  return Math.min(ROLE_CHAINING_MAX_SECONDS, Math.max(STS_MIN_DURATION_SECONDS, remaining));
}

const SOURCE_IDENTITY = /^[\w+=,.@-]{2,64}$/;
const SOURCE_IDENTITY_PREFIX = 52;

/**
 * SourceIdentity must be 2-64 characters from `[A-Za-z0-9_+=,.@-]`, and STS keeps it for the
 * whole chain of sessions, so CloudTrail names the person behind every call. The mapping:
 * an owner (the token's subject) that already fits is used as it is; any other becomes its
 * first 52 characters with each other character replaced by `_`, a dot, and the first 11 hex
 * digits of the SHA-256 of the whole subject, so two people never share one. The exact
 * subject and the value sent are both in the `credentials-issued` audit event.
 */
export function sourceIdentityFor(owner: string): string {
  if (SOURCE_IDENTITY.test(owner)) return owner;
  const readable = owner.replace(/[^\w+=,.@-]/g, '_').slice(0, SOURCE_IDENTITY_PREFIX);
  const digest = createHash('sha256').update(owner, 'utf8').digest('hex').slice(0, 11);
  return `${readable}.${digest}`;
}

export const SESSION_TAG_KEYS = {
  session: 'drawbridge:session',
  owner: 'drawbridge:owner',
  breakGlass: 'drawbridge:break-glass',
} as const;

/** STS session tag values: letters, digits, spaces and `_.:/=+-@`, at most 256 characters. */
export function sessionTagValue(value: string): string {
  return value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+@-]/gu, '_').slice(0, 256);
}

export interface SessionTag {
  Key: string;
  Value: string;
}

/**
 * Tags on the role session: CloudTrail records them with every call and policies can test
 * them as aws:PrincipalTag. All are transitive, so they would survive any further chaining
 * (the session policy allows none) and could not be replaced by the holder.
 */
export function sessionTagsFor(session: Pick<Session, 'id' | 'owner' | 'breakGlass'>): {
  tags: SessionTag[];
  transitiveTagKeys: string[];
} {
  const tags = [
    { Key: SESSION_TAG_KEYS.session, Value: session.id },
    { Key: SESSION_TAG_KEYS.owner, Value: sessionTagValue(session.owner) },
    { Key: SESSION_TAG_KEYS.breakGlass, Value: session.breakGlass === true ? 'true' : 'false' },
  ];
  return { tags, transitiveTagKeys: tags.map((tag) => tag.Key) };
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

/** Ports below 1024 need privileges locally: 5432 stays 5432, 22 becomes 10022. */
export const suggestedLocalPort = (port: number): number => (port < 1024 ? 10_000 + port : port);

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
