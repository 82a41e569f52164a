import type { AssumeRoleCommandInput, STSClient } from '@aws-sdk/client-sts';
import { type GrantScope, grantDurationSeconds } from '../domain/session-policy.ts';
import { buildSessionPolicy } from '../domain/ssm-session-policy.ts';
import type {
  CredentialGrant,
  GrantRequest,
  IssuedCredentials,
} from '../ports/credential-grant.ts';
import { assumeRole, grantScope, roleSessionInput } from './sts-grant.ts';

export interface SsmGrantOptions {
  sts: STSClient;
  /** the SsmSessionRole: trusts only the grant function's role */
  roleArn: string;
  region: string;
  /** the stage's Session document (serverless.yml SessionPreferencesDocument) */
  shellDocument: string;
}

/**
 * AssumeRole on the ssm session role, narrowed by the inline session policy (one instance, the
 * allowed documents, the caller's address, the end of the window).
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
    return roleSessionInput(
      this.#roleArn,
      session,
      grantDurationSeconds(request.now, request.notAfter),
      buildSessionPolicy({
        scope: this.#scope,
        sessionId: session.id,
        instanceId: request.instanceId,
        documents: request.documents,
        sourceCidr: session.sourceCidr,
        notAfter: request.notAfter,
      }),
    );
  }

  issue(request: GrantRequest): Promise<IssuedCredentials> {
    return assumeRole(this.#sts, this.assumeRoleInput(request));
  }
}
