import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { clientSettings } from './client-settings.ts';

export type LogsSdk = typeof import('@aws-sdk/client-cloudwatch-logs');

let sdk: Promise<LogsSdk> | undefined;
/**
 * The CloudWatch Logs SDK, imported on first use: verify-audit (an HTTP read function) and the
 * functions that end sessions read a recording only for recorded sessions, so they never load
 * it at cold start. (A static import anywhere in a bundle is hoisted and loaded at cold start.)
 */
export function loadLogsSdk(): Promise<LogsSdk> {
  sdk ??= import('@aws-sdk/client-cloudwatch-logs');
  return sdk;
}

let client: Promise<CloudWatchLogsClient> | undefined;
/** One client per process, made on first use. */
export function lazyLogsClient(): Promise<CloudWatchLogsClient> {
  client ??= loadLogsSdk().then(
    (module) => new module.CloudWatchLogsClient(clientSettings('logs')),
  );
  return client;
}
