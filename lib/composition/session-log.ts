import { CloudWatchSessionLog } from '../aws/cloudwatch-session-log.ts';
import { logsClient } from '../aws/logs-client.ts';
import type { SessionLog } from '../ports/session-log.ts';
import { currentConfig, installedDeps } from './core.ts';

let log: SessionLog | undefined;

/** GET /sessions/{id}/events also shows the bastion's connection log; only that function loads the Logs client. */
export function sessionLog(): SessionLog | undefined {
  const installed = installedDeps();
  if (installed) return installed.sessionLog;
  const cfg = currentConfig();
  log ??= new CloudWatchSessionLog({
    logs: logsClient(),
    logGroupName: cfg.optional.BASTION_LOG_GROUP ?? `/drawbridge/${cfg.stage}/sessions`,
  });
  return log;
}
