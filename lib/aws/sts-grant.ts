import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  type Credentials,
  STSClient,
} from '@aws-sdk/client-sts';
import { ConfigError, GrantError } from '../domain/errors.ts';
import type { Session } from '../domain/session.ts';
import {
  type GrantScope,
  parseRoleArn,
  type SessionPolicyDocument,
  serializeSessionPolicy,
  sessionTagsFor,
  sourceIdentityFor,
} from '../domain/session-policy.ts';
import type { IssuedCredentials } from '../ports/credential-grant.ts';
import { errorName } from './aws-errors.ts';
import { clientSettings, once } from './client-settings.ts';

/**
 * What every credential grant (ssm-grant.ts, eice-grant.ts) sends to STS: one AssumeRole on its
 * session role, narrowed by the mode's inline session policy.
 */

// Its own module: only the credentials function talks to STS.
export const stsClient = once(() => new STSClient(clientSettings('sts')));

/** Asking STS again cannot change these answers. */
const PERMANENT = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'MalformedPolicyDocument',
  'MalformedPolicyDocumentException',
  'PackedPolicyTooLarge',
  'PackedPolicyTooLargeException',
  'RegionDisabledException',
  'ValidationError',
]);

/** Where a grant's role lives (partition, account) and the region its policy names. */
export function grantScope(roleArn: string, region: string, setting: string): GrantScope {
  let role: ReturnType<typeof parseRoleArn>;
  try {
    role = parseRoleArn(roleArn);
  } catch {
    throw new ConfigError(`${setting} is not an IAM role ARN`);
  }
  return { partition: role.partition, accountId: role.accountId, region };
}

/**
 * The AssumeRole request with everything that narrows it besides the policy: the person as
 * SourceIdentity, session tags, and the Drawbridge session id as role session name.
 */
export function roleSessionInput(
  roleArn: string,
  session: Pick<Session, 'id' | 'owner' | 'breakGlass'>,
  durationSeconds: number,
  policy: SessionPolicyDocument,
): AssumeRoleCommandInput {
  const { tags, transitiveTagKeys } = sessionTagsFor(session);
  return {
    RoleArn: roleArn,
    RoleSessionName: session.id,
    DurationSeconds: durationSeconds,
    Policy: serializeSessionPolicy(policy),
    SourceIdentity: sourceIdentityFor(session.owner),
    Tags: tags,
    TransitiveTagKeys: transitiveTagKeys,
  };
}

/**
 * Sends one AssumeRole and returns the credentials, or a GrantError that carries only STS's
 * error code (its messages can quote the request: the role, the policy).
 */
export async function assumeRole(
  sts: STSClient,
  input: AssumeRoleCommandInput,
): Promise<IssuedCredentials> {
  let credentials: Credentials | undefined;
  try {
    ({ Credentials: credentials } = await sts.send(new AssumeRoleCommand(input)));
  } catch (error) {
    const code = errorName(error);
    throw new GrantError(`STS refused this session's credentials (${code})`, {
      cause: error,
      permanent: PERMANENT.has(code),
    });
  }
  if (
    !credentials?.AccessKeyId ||
    !credentials.SecretAccessKey ||
    !credentials.SessionToken ||
    !credentials.Expiration
  ) {
    throw new GrantError('STS answered without credentials', { permanent: false });
  }
  return {
    accessKeyId: credentials.AccessKeyId,
    secretAccessKey: credentials.SecretAccessKey,
    sessionToken: credentials.SessionToken,
    expiration: credentials.Expiration.getTime(),
    sourceIdentity: input.SourceIdentity ?? '',
    durationSeconds: input.DurationSeconds ?? 0,
  };
}
