import type { RequestDeps } from '../app/request-session.ts';
import { ManagedInstances } from '../aws/ssm-provider.ts';
import { alerts } from './alerts.ts';
import { composeCore, type HttpDeps } from './core.ts';
import { provisionQueue, QUEUE_SETTINGS } from './queue.ts';

export type RequestFunctionDeps = RequestDeps & HttpDeps;

/**
 * POST /sessions, approve and deny: DynamoDB, the provision queue (SQS) and the alerts topic
 * (SNS). An ssm target is checked (Online, one instance) before the request takes quota; the
 * Systems Manager SDK is imported by the first such check only (lib/aws/ssm-provider.ts).
 */
export function composeRequest(): RequestFunctionDeps {
  const core = composeCore(QUEUE_SETTINGS);
  return {
    ...core,
    queue: provisionQueue(core.config),
    ...alerts(core.config),
    targetChecks: { ssm: new ManagedInstances({}) },
  };
}
