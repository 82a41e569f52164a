import type { RequestDeps } from '../app/request-session.ts';
import { sqsClient } from '../aws/sqs-client.ts';
import { SqsProvisionQueue } from '../aws/sqs-provision-queue.ts';
import { setting } from '../config.ts';
import { coreDeps, currentConfig, installedDeps } from './core.ts';
import { alertNotifier } from './notifier.ts';
import { ssmTargetCheck } from './ssm-check.ts';

/**
 * POST /sessions needs the core, the provision queue and the alerts topic: DynamoDB, SQS and
 * SNS, nothing else. Approving a request needs the same.
 */
let deps: RequestDeps | undefined;

export function requestDeps(): RequestDeps {
  const installed = installedDeps();
  if (installed) return installed;
  deps ??= {
    ...coreDeps(),
    queue: new SqsProvisionQueue({
      sqs: sqsClient(),
      queueUrl: setting(currentConfig(), 'PROVISION_QUEUE_URL'),
    }),
    ...withNotifier(),
    // An ssm target must be Online before the request takes quota.
    targetChecks: { ssm: ssmTargetCheck },
  };
  return deps;
}

function withNotifier(): { notifier?: NonNullable<RequestDeps['notifier']> } {
  const notifier = alertNotifier();
  return notifier ? { notifier } : {};
}
