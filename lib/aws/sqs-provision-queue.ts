import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ProvisionQueue } from '../ports/provision-queue.ts';
import { errorName } from './aws-errors.ts';

export interface SqsProvisionQueueOptions {
  sqs: SQSClient;
  queueUrl: string;
}

const MAX_DELAY_SECONDS = 900;

/** The provisioner reads the session from the table; the message only names it. */
export class SqsProvisionQueue implements ProvisionQueue {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;

  constructor(options: SqsProvisionQueueOptions) {
    this.#sqs = options.sqs;
    this.#queueUrl = options.queueUrl;
  }

  async enqueue(sessionId: string, options: { delaySeconds?: number } = {}): Promise<void> {
    // SQS refuses anything but a whole number of seconds from 0 to 900.
    const delaySeconds = Math.min(
      MAX_DELAY_SECONDS,
      Math.max(0, Math.ceil(options.delaySeconds ?? 0)),
    );
    try {
      await this.#sqs.send(
        new SendMessageCommand({
          QueueUrl: this.#queueUrl,
          MessageBody: JSON.stringify({ sessionId }),
          ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
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
