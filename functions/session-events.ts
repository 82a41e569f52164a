import { connectionRecordView, eventView } from '../lib/app/session-view.ts';
import { listSessionEvents } from '../lib/app/sessions-query.ts';
import { CloudWatchSessionLog } from '../lib/aws/cloudwatch-session-log.ts';
import { logsClient } from '../lib/aws/logs-client.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json } from '../lib/http/http-handler.ts';
import type { SessionLog } from '../lib/ports/session-log.ts';

export type SessionEventsDeps = CoreDeps & HttpDeps & { sessionLog?: SessionLog };

/** Talks to DynamoDB (the audit trail) and CloudWatch Logs (the bastion's connection log). */
export function composeSessionEvents(): SessionEventsDeps {
  const core = composeCore(['BASTION_LOG_GROUP']);
  return {
    ...core,
    sessionLog: new CloudWatchSessionLog({
      logs: logsClient(),
      logGroupName: core.config.settings.BASTION_LOG_GROUP,
    }),
  };
}

/** GET /sessions/{id}/events → the audit trail (hash-chained) and the bastion's connection log. */
export const createSessionEventsHandler = (deps: () => SessionEventsDeps) =>
  httpFunction(deps, async ({ event, identity }, d) => {
    const history = await listSessionEvents(d, identity, event.pathParameters?.id ?? '');
    return json(200, {
      items: history.events.map(eventView),
      ...(history.connections
        ? { connections: history.connections.map(connectionRecordView) }
        : {}),
    });
  });

export const handler = createSessionEventsHandler(lazy(composeSessionEvents));
