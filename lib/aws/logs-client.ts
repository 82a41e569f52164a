import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { clientSettings, once } from './client-settings.ts';

// Its own module so that only GET /sessions/{id}/events loads CloudWatch Logs.
export const logsClient = once(() => new CloudWatchLogsClient(clientSettings('logs')));
