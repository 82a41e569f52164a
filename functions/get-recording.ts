import { replaySession } from '../lib/app/recording.ts';
import { CloudWatchRecordingReader } from '../lib/aws/cloudwatch-recording-reader.ts';
import { CloudWatchSessionLog } from '../lib/aws/cloudwatch-session-log.ts';
import { logsClient } from '../lib/aws/logs-client.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json } from '../lib/http/http-handler.ts';
import { parseRecordingQuery } from '../lib/http/recording-query.ts';
import type { RecordingReader } from '../lib/ports/recording-reader.ts';
import type { SessionLog } from '../lib/ports/session-log.ts';

export type GetRecordingDeps = CoreDeps &
  HttpDeps & { recordings?: RecordingReader; sessionLog?: SessionLog };

/**
 * Talks to DynamoDB (the session, the audit event) and CloudWatch Logs (the bastion's stream
 * and Session Manager's log group).
 */
export function composeGetRecording(): GetRecordingDeps {
  const core = composeCore(['BASTION_LOG_GROUP', 'SSM_LOG_GROUP']);
  const logs = logsClient();
  return {
    ...core,
    recordings: new CloudWatchRecordingReader({
      logs,
      bastionLogGroup: core.config.settings.BASTION_LOG_GROUP,
      ssmLogGroup: core.config.settings.SSM_LOG_GROUP,
    }),
    sessionLog: new CloudWatchSessionLog({
      logs,
      logGroupName: core.config.settings.BASTION_LOG_GROUP,
    }),
  };
}

const CONTENT_TYPE = {
  asciicast: 'application/x-asciicast; charset=utf-8',
  text: 'text/plain; charset=utf-8',
} as const;

/**
 * GET /sessions/{id}/recording[?format=text] → the recording as asciicast v2 (or plain text
 * with UTC times), for the owner, admins and auditors; each call is an audit event. The
 * header drawbridge-recording says whether the recorder's chain holds, or `partial` when the
 * body is only the recording's beginning (too long to read in one request).
 */
export const createGetRecordingHandler = (deps: () => GetRecordingDeps) =>
  httpFunction(deps, async ({ event, identity }, d) => {
    const format = parseRecordingQuery(event.queryStringParameters ?? {});
    const { session, recording } = await replaySession(
      d,
      identity,
      event.pathParameters?.id ?? '',
      format,
    );
    const verdict = recording.verdict;
    // A chain problem found in what was read wins; else a partial body says so whatever its kind.
    const state =
      verdict?.intact === false
        ? (verdict.problem ?? 'broken')
        : recording.partial
          ? 'partial'
          : verdict
            ? 'intact'
            : undefined;
    const response = json(200, null, {
      'content-type': CONTENT_TYPE[format],
      'content-disposition': `attachment; filename="${session.id}.${format === 'text' ? 'txt' : 'cast'}"`,
      'drawbridge-recording-kind': recording.kind,
      ...(state ? { 'drawbridge-recording': state } : {}),
    });
    return { ...response, body: recording.body };
  });

export const handler = createGetRecordingHandler(lazy(composeGetRecording));
