import { EventBridgeExpiryScheduler } from '../aws/eventbridge-expiry-scheduler.ts';
import { schedulerClient } from '../aws/scheduler-client.ts';
import type { Config } from '../config.ts';
import type { ExpiryScheduler } from '../ports/expiry-scheduler.ts';

export const SCHEDULER_SETTINGS = [
  'SCHEDULE_GROUP',
  'EXPIRE_FUNCTION_ARN',
  'SCHEDULER_ROLE_ARN',
  'SCHEDULER_DLQ_ARN',
] as const;

/** Layer 2: one EventBridge Scheduler schedule per session, invoking `expire`. */
export function expiryScheduler(
  config: Config<(typeof SCHEDULER_SETTINGS)[number]>,
): ExpiryScheduler {
  const { settings } = config;
  return new EventBridgeExpiryScheduler({
    scheduler: schedulerClient(),
    groupName: settings.SCHEDULE_GROUP,
    targetArn: settings.EXPIRE_FUNCTION_ARN,
    roleArn: settings.SCHEDULER_ROLE_ARN,
    deadLetterArn: settings.SCHEDULER_DLQ_ARN,
  });
}
