import { sqsClient } from '../aws/sqs-client.ts';
import { SqsProvisionQueue } from '../aws/sqs-provision-queue.ts';
import type { Config } from '../config.ts';
import type { ProvisionQueue } from '../ports/provision-queue.ts';

export const QUEUE_SETTINGS = ['PROVISION_QUEUE_URL'] as const;

/** The provision queue (SQS). */
export function provisionQueue(config: Config<(typeof QUEUE_SETTINGS)[number]>): ProvisionQueue {
  return new SqsProvisionQueue({ sqs: sqsClient(), queueUrl: config.settings.PROVISION_QUEUE_URL });
}
