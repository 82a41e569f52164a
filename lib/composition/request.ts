import type { RequestDeps } from '../app/request-session.ts';
import { EiceProvider } from '../aws/eice-provider.ts';
import { ManagedInstances } from '../aws/ssm-provider.ts';
import { findTarget } from '../domain/policy.ts';
import { alerts } from './alerts.ts';
import { type Composed, composeCore, type HttpDeps } from './core.ts';
import { provisionQueue, QUEUE_SETTINGS } from './queue.ts';

export type RequestFunctionDeps = RequestDeps & HttpDeps;

/**
 * POST /sessions, approve and deny: DynamoDB, the provision queue (SQS) and the alerts topic
 * (SNS). An ssm target is checked (Online, one instance) before the request takes quota; the
 * Systems Manager SDK is imported by the first such check only (lib/aws/ssm-provider.ts); an
 * eice target is resolved to one running instance and its endpoint the same way (EC2 SDK).
 */
export function composeRequest(): RequestFunctionDeps & Pick<Composed<never>, 'config'> {
  const core = composeCore(QUEUE_SETTINGS);
  return {
    ...core,
    queue: provisionQueue(core.config),
    ...alerts(core.config),
    targetChecks: {
      ssm: new ManagedInstances({}),
      eice: new EiceProvider({ findTarget: (name) => findTarget(core.policy, name) }),
    },
  };
}
