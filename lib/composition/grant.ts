import { SsmGrant, stsClient } from '../aws/ssm-grant.ts';
import { setting } from '../config.ts';
import type { CredentialGrant } from '../ports/credential-grant.ts';
import { currentConfig } from './core.ts';

let grant: CredentialGrant | undefined;
let installed: CredentialGrant | undefined;

/**
 * The ssm credential grant, for POST /sessions/{id}/credentials only: its function's role is
 * the one the session role trusts, and only that function loads the STS client.
 */
export function credentialGrant(): CredentialGrant {
  if (installed) return installed;
  const cfg = currentConfig();
  grant ??= new SsmGrant({
    sts: stsClient(),
    roleArn: setting(cfg, 'SSM_SESSION_ROLE_ARN'),
    region: setting(cfg, 'AWS_REGION'),
    shellDocument: setting(cfg, 'SSM_SHELL_DOCUMENT'),
  });
  return grant;
}

/** Local mode, tests and benchmarks: the same handler over another grant. */
export function useCredentialGrant(replacement: CredentialGrant | undefined): void {
  installed = replacement;
}
