import type { AppDeps } from '../app/deps.ts';
import { CloudWatchRecordingReader } from '../aws/cloudwatch-recording-reader.ts';
import { lazyLogsClient } from '../aws/logs-sdk.ts';
import { alerts } from './alerts.ts';
import { type Composed, composeCore, type HttpDeps } from './core.ts';
import { cloudProviders, PROVIDER_SETTINGS } from './providers.ts';
import { provisionQueue, QUEUE_SETTINGS } from './queue.ts';
import { expiryScheduler, SCHEDULER_SETTINGS } from './scheduler.ts';

export type ActingDeps = AppDeps & HttpDeps;

/**
 * What the functions that act on bastions share (provision, expire, reap, end, extend,
 * on-instance-state): DynamoDB; the ec2 and ssm providers, whose EC2 and Systems Manager SDKs
 * load on their first call (lib/composition/providers.ts); EventBridge Scheduler (layer 2);
 * the provision queue (SQS); the alerts topic (SNS) when the stage has one; CloudWatch Logs
 * (loaded on first use), for the reaper to read a recorded session's chain head once the
 * recording settled (the others only note when to look). Every setting these need is
 * required here, at cold start.
 */
export function composeActing(): ActingDeps & Pick<Composed<never>, 'config'> {
  const core = composeCore([...PROVIDER_SETTINGS, ...SCHEDULER_SETTINGS, ...QUEUE_SETTINGS]);
  return {
    ...core,
    providers: cloudProviders(core.config, core.policy),
    scheduler: expiryScheduler(core.config),
    queue: provisionQueue(core.config),
    recordings: new CloudWatchRecordingReader({
      logs: lazyLogsClient,
      bastionLogGroup: core.config.settings.BASTION_LOG_GROUP,
    }),
    ...alerts(core.config),
  };
}
