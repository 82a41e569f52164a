import type { RequestDeps } from '../app/request-session.ts';
import { sqsClient } from '../aws/sqs-client.ts';
import { SqsProvisionQueue } from '../aws/sqs-provision-queue.ts';
import { setting } from '../config.ts';
import { coreDeps, currentConfig, installedDeps } from './core.ts';

/** POST /sessions needs the core and the provision queue: DynamoDB and SQS, nothing else. */
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
  };
  return deps;
}
