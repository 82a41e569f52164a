import { type IssueCredentialsDeps, issueCredentials } from '../lib/app/issue-credentials.ts';
import { EiceGrant } from '../lib/aws/eice-grant.ts';
import { SsmGrant } from '../lib/aws/ssm-grant.ts';
import { stsClient } from '../lib/aws/sts-grant.ts';
import { composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json } from '../lib/http/http-handler.ts';

export type IssueCredentialsFunctionDeps = IssueCredentialsDeps & HttpDeps;

/**
 * Talks to DynamoDB and STS: its role is the one the ssm and eice session roles trust, and it is the
 * only function that loads the STS client.
 */
export function composeIssueCredentials(): IssueCredentialsFunctionDeps {
  const core = composeCore([
    'SSM_SESSION_ROLE_ARN',
    'SSM_SHELL_DOCUMENT',
    'EICE_SESSION_ROLE_ARN',
    'AWS_REGION',
  ]);
  const { settings } = core.config;
  return {
    ...core,
    grant: new SsmGrant({
      sts: stsClient(),
      roleArn: settings.SSM_SESSION_ROLE_ARN,
      region: settings.AWS_REGION,
      shellDocument: settings.SSM_SHELL_DOCUMENT,
    }),
    eiceGrant: new EiceGrant({
      sts: stsClient(),
      roleArn: settings.EICE_SESSION_ROLE_ARN,
      region: settings.AWS_REGION,
    }),
  };
}

/**
 * POST /sessions/{id}/credentials → temporary credentials for a READY ssm session and the
 * `aws ssm start-session` lines. The answer is the only place they ever appear (no-store).
 */
export const createIssueCredentialsHandler = (deps: () => IssueCredentialsFunctionDeps) =>
  httpFunction(deps, async ({ event, identity, sourceIp }, d) =>
    json(
      200,
      await issueCredentials(d, {
        identity,
        sourceIp,
        sessionId: event.pathParameters?.id ?? '',
      }),
    ),
  );

export const handler = createIssueCredentialsHandler(lazy(composeIssueCredentials));
