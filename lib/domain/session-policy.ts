import { createHash } from 'node:crypto';
import { DrawbridgeError } from './errors.ts';
import { parseCidr } from './network.ts';
import type { Session } from './session.ts';

/**
 * What every credential grant (ssm, eice) is made of besides its own statements, built as plain
 * data so it can be checked (and property-tested) without STS: the frame of the inline session
 * policy, the SourceIdentity, the session tags and the duration that go into AssumeRole. Each
 * mode adds its statements (ssm-session-policy.ts, eice-session-policy.ts); lib/aws only sends
 * the result.
 */

export type GrantMode = 'ssm' | 'eice';

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

/**
 * A value no grant may be built from. Policy and configuration were validated long before, so
 * this is Drawbridge's own fault (a 500), never the caller's.
 */
export function refuseGrant(what: string, mode?: GrantMode): never {
  throw new DrawbridgeError(
    `refusing to build ${mode ? `an ${mode}` : 'a'} grant: invalid ${what}`,
  );
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
const EC2_INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
const ROLE_ARN = /^arn:(aws(?:-[a-z]+)*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

export interface RoleArnParts {
  partition: string;
  accountId: string;
  roleName: string;
}

export function parseRoleArn(arn: string): RoleArnParts {
  const match = ROLE_ARN.exec(arn);
  if (!match?.[1] || !match[2] || !match[3]) refuseGrant('session role ARN');
  return { partition: match[1], accountId: match[2], roleName: match[3] };
}

export function ec2InstanceArn(scope: GrantScope, instanceId: string, mode: GrantMode): string {
  if (!EC2_INSTANCE_ID.test(instanceId)) refuseGrant('instance id', mode);
  return `arn:${scope.partition}:ec2:${scope.region}:${scope.accountId}:instance/${instanceId}`;
}

type Conditions = Record<string, Record<string, string>>;

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Conditions;
}

/** A statement on one action and one resource, always conditioned. */
export interface ConditionedStatement extends PolicyStatement {
  Action: string;
  Resource: string;
  Condition: Conditions;
}

export interface SessionPolicyDocument<S extends PolicyStatement = PolicyStatement> {
  Version: '2012-10-17';
  Statement: S[];
}

/** What every grant is bound to before any statement: the role's scope and the caller's address. */
export interface GrantOrigin {
  scope: GrantScope;
  /** the caller's address as a /32 or /128 */
  sourceCidr: string;
}

/**
 * The inline session policy of a grant: the grant's permissions are the intersection of this and
 * the session role's own policy. The scope and the caller's one address are checked here for
 * every mode, before the mode's statements are built (they test the address in aws:SourceIp and
 * may check more inputs of their own), so no mode can skip them.
 */
export function sessionPolicy<S extends PolicyStatement>(
  mode: GrantMode,
  origin: GrantOrigin,
  statements: () => S[],
): SessionPolicyDocument<S> {
  const { scope, sourceCidr } = origin;
  if (!PARTITION.test(scope.partition)) refuseGrant('partition', mode);
  if (!REGION.test(scope.region)) refuseGrant('region', mode);
  if (!ACCOUNT.test(scope.accountId)) refuseGrant('account', mode);
  let cidr: ReturnType<typeof parseCidr>;
  try {
    cidr = parseCidr(sourceCidr);
  } catch {
    refuseGrant('source address', mode);
  }
  if (cidr.prefix !== (cidr.version === 4 ? 32 : 128)) {
    refuseGrant('source address (not one host)', mode);
  }
  return { Version: '2012-10-17', Statement: statements() };
}

/** The policy as sent to STS, refused if it would exceed the inline session policy limit. */
export function serializeSessionPolicy(policy: SessionPolicyDocument): string {
  const text = JSON.stringify(policy);
  if (text.length > MAX_SESSION_POLICY_CHARS) {
    refuseGrant(
      `session policy (${text.length} characters, STS allows ${MAX_SESSION_POLICY_CHARS})`,
    );
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

/** Ports below 1024 need privileges locally: 5432 stays 5432, 22 becomes 10022. */
export const suggestedLocalPort = (port: number): number => (port < 1024 ? 10_000 + port : port);
