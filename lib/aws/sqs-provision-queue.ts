import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ProvisionQueue } from '../ports/provision-queue.ts';
import { errorName } from './aws-errors.ts';

export interface SqsProvisionQueueOptions {
  sqs: SQSClient;
  queueUrl: string;
}

/** The provisioner reads the session from the table; the message only names it. */
export class SqsProvisionQueue implements ProvisionQueue {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;

  constructor(options: SqsProvisionQueueOptions) {
    this.#sqs = options.sqs;
    this.#queueUrl = options.queueUrl;
  }

  async enqueue(sessionId: string, options: { delaySeconds?: number } = {}): Promise<void> {
    try {
      await this.#sqs.send(
        new SendMessageCommand({
          QueueUrl: this.#queueUrl,
          MessageBody: JSON.stringify({ sessionId }),
          ...(options.delaySeconds ? { DelaySeconds: options.delaySeconds } : {}),
        }),
      );
    } catch (error) {
      throw new Error(
        `could not queue session ${sessionId} for provisioning: ${errorName(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}
