import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { AppDeps } from '../lib/app/deps.ts';
import { provisionSession } from '../lib/app/provision-session.ts';
import { composeActing } from '../lib/composition/acting.ts';
import { logger } from '../lib/composition/core.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { flushMetrics, withMetrics } from '../lib/composition/metrics.ts';
import { SessionMessage } from '../lib/http/event-schemas.ts';

/** Provision queue consumer: one session per message; failed messages are redelivered, then dead-lettered. */
export const createProvisionHandler = (deps: () => AppDeps) =>
  middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const message = SessionMessage.safeParse(safeJson(record.body));
      if (!message.success) {
        logger.error('dropping a malformed provision message', { messageId: record.messageId });
        continue;
      }
      try {
        logger.appendKeys({ correlation_id: message.data.sessionId });
        await provisionSession(deps(), message.data.sessionId);
      } catch (error) {
        logger.error('provisioning failed; the message will be retried', { error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics());

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** DynamoDB, EC2 or SSM (the launch), Scheduler (layer 2), SQS, SNS (lib/composition/acting.ts). */
export const handler = createProvisionHandler(lazy(() => withMetrics(composeActing())));
