import type { AssumeRoleCommandInput, STSClient } from '@aws-sdk/client-sts';
import { buildEiceSessionPolicy } from '../domain/eice-session-policy.ts';
import { type GrantScope, grantDurationSeconds } from '../domain/session-policy.ts';
import type {
  EiceCredentialGrant,
  EiceGrantRequest,
  IssuedCredentials,
} from '../ports/credential-grant.ts';
import { assumeRole, grantScope, roleSessionInput } from './sts-grant.ts';

export interface EiceGrantOptions {
  sts: STSClient;
  /** the EiceSessionRole: trusts only the credentials function's role */
  roleArn: string;
  region: string;
}

/**
 * AssumeRole on the eice session role, narrowed by the inline session policy (one endpoint,
 * one address and port, the caller's address, the tunnel and time bounds, and the key push
 * for one OS user on one instance).
 */
export class EiceGrant implements EiceCredentialGrant {
  readonly region: string;
  readonly #sts: STSClient;
  readonly #roleArn: string;
  readonly #scope: GrantScope;

  constructor(options: EiceGrantOptions) {
    this.#sts = options.sts;
    this.#roleArn = options.roleArn;
    this.region = options.region;
    this.#scope = grantScope(options.roleArn, options.region, 'EICE_SESSION_ROLE_ARN');
  }

  /** The exact AssumeRole request for a grant; pure, so tests and the benchmark can read it. */
  assumeRoleInput(request: EiceGrantRequest): AssumeRoleCommandInput {
    const { session } = request;
    return roleSessionInput(
      this.#roleArn,
      session,
      // The credentials only need to open tunnels until openUntil (and push keys meanwhile):
      // STS's 15-minute minimum is usually all they get.
      grantDurationSeconds(request.now, request.bounds.openUntil),
      buildEiceSessionPolicy({
        scope: this.#scope,
        endpointId: request.endpointId,
        instanceId: request.instanceId,
        privateIpAddress: request.privateIpAddress,
        remotePort: request.remotePort,
        osUser: request.osUser,
        sourceCidr: session.sourceCidr,
        notAfter: request.notAfter,
        bounds: request.bounds,
      }),
    );
  }

  issue(request: EiceGrantRequest): Promise<IssuedCredentials> {
    return assumeRole(this.#sts, this.assumeRoleInput(request));
  }
}
