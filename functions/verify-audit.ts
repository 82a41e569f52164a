import { verifySessionAudit } from '../lib/app/verify-audit.ts';
import { CloudWatchRecordingReader } from '../lib/aws/cloudwatch-recording-reader.ts';
import { lazyLogsClient } from '../lib/aws/logs-sdk.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json } from '../lib/http/http-handler.ts';
import type { RecordingReader } from '../lib/ports/recording-reader.ts';

export type VerifyAuditDeps = CoreDeps & HttpDeps & { recordings?: RecordingReader };

/**
 * Talks to DynamoDB (the trail) and, for recorded sessions, CloudWatch Logs (the recording's
 * chunks, checked against the head on the session item), whose SDK loads on first use.
 */
export function composeVerifyAudit(): VerifyAuditDeps {
  const core = composeCore(['BASTION_LOG_GROUP']);
  return {
    ...core,
    recordings: new CloudWatchRecordingReader({
      logs: lazyLogsClient,
      bastionLogGroup: core.config.settings.BASTION_LOG_GROUP,
    }),
  };
}

/**
 * GET /sessions/{id}/audit → whether the session's audit trail (and its recording, when
 * recorded) is intact, recomputed from the table and the log store.
 */
export const createVerifyAuditHandler = (deps: () => VerifyAuditDeps) =>
  httpFunction(deps, async ({ event, identity }, d) =>
    json(200, await verifySessionAudit(d, identity, event.pathParameters?.id ?? '')),
  );

export const handler = createVerifyAuditHandler(lazy(composeVerifyAudit));
