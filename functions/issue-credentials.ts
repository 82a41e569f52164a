import { issueCredentials } from '../lib/app/issue-credentials.ts';
import { coreDeps, httpOptions } from '../lib/composition/core.ts';
import { credentialGrant } from '../lib/composition/grant.ts';
import { httpHandler, json } from '../lib/http/http-handler.ts';

/**
 * POST /sessions/{id}/credentials → temporary credentials for a READY ssm session and the
 * `aws ssm start-session` lines. The answer is the only place they ever appear (no-store).
 */
export const handler = httpHandler(httpOptions, async ({ event, identity, sourceIp }) => {
  const credentials = await issueCredentials(
    { ...coreDeps(), grant: credentialGrant() },
    { identity, sourceIp, sessionId: event.pathParameters?.id ?? '' },
  );
  return json(200, credentials);
});
