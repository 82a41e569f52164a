import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  type Credentials,
  STSClient,
} from '@aws-sdk/client-sts';
import { ConfigError, GrantError } from '../domain/errors.ts';
import {
  buildSessionPolicy,
  type GrantScope,
  grantDurationSeconds,
  parseRoleArn,
  serializeSessionPolicy,
  sessionTagsFor,
  sourceIdentityFor,
} from '../domain/ssm-session-policy.ts';
import type {
  CredentialGrant,
  GrantRequest,
  IssuedCredentials,
} from '../ports/credential-grant.ts';
import { errorName } from './aws-errors.ts';
import { clientSettings, once } from './client-settings.ts';

// Its own module: only the credentials function talks to STS.
export const stsClient = once(() => new STSClient(clientSettings('sts')));

export interface SsmGrantOptions {
  sts: STSClient;
  /** the SsmSessionRole: trusts only the grant function's role */
  roleArn: string;
  region: string;
  /** the stage's Session document (serverless.yml SessionPreferencesDocument) */
  shellDocument: string;
}

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

/**
 * AssumeRole on the session role with everything that narrows it: the inline session policy
 * (one instance, the allowed documents, the caller's address, the end of the window), the
 * person as SourceIdentity, session tags, the Drawbridge session id as role session name.
 */
export class SsmGrant implements CredentialGrant {
  readonly region: string;
  readonly shellDocument: string;
  readonly #sts: STSClient;
  readonly #roleArn: string;
  readonly #scope: GrantScope;

  constructor(options: SsmGrantOptions) {
    this.#sts = options.sts;
    this.#roleArn = options.roleArn;
    this.region = options.region;
    this.shellDocument = options.shellDocument;
    this.#scope = grantScope(options.roleArn, options.region, 'SSM_SESSION_ROLE_ARN');
  }

  /** The exact AssumeRole request for a grant; pure, so tests and the benchmark can read it. */
  assumeRoleInput(request: GrantRequest): AssumeRoleCommandInput {
    const { session } = request;
    const { tags, transitiveTagKeys } = sessionTagsFor(session);
    return {
      RoleArn: this.#roleArn,
      RoleSessionName: session.id,
      DurationSeconds: grantDurationSeconds(request.now, request.notAfter),
      Policy: serializeSessionPolicy(
        buildSessionPolicy({
          scope: this.#scope,
          sessionId: session.id,
          instanceId: request.instanceId,
          documents: request.documents,
          sourceCidr: session.sourceCidr,
          notAfter: request.notAfter,
        }),
      ),
      SourceIdentity: sourceIdentityFor(session.owner),
      Tags: tags,
      TransitiveTagKeys: transitiveTagKeys,
    };
  }

  issue(request: GrantRequest): Promise<IssuedCredentials> {
    return assumeRole(this.#sts, this.assumeRoleInput(request));
  }
}

/**
 * Sends one AssumeRole and returns the credentials, or a GrantError that carries only STS's
 * error code (its messages can quote the request: the role, the policy). Shared by the ssm
 * and eice grants.
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
