import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type BastionLogOutcome, onEc2BastionLog } from '../lib/app/bastion-log.ts';
import type { AppDeps } from '../lib/app/deps.ts';
import { composeActing } from '../lib/composition/acting.ts';
import { logger } from '../lib/composition/core.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { flushMetrics, withMetrics } from '../lib/composition/metrics.ts';
import { ValidationError } from '../lib/domain/errors.ts';
import { parseLogsSubscriptionEvent } from '../lib/http/logs-subscription.ts';

/**
 * The bastion log group's subscription filter (it matches readiness lines and the recorder's
 * idle end chunks): each line, with the stream it was written to, goes to its use case, which
 * acts only for the session of that stream: READY on a proof of the issued host key, an idle
 * disconnect (and the end it implies) on an idle end chunk. A delivery that is not a
 * subscription event is logged and dropped (a retry would not make it one); a failure of ours
 * throws, and Lambda's asynchronous retries deliver the lines again.
 */
export const createOnBastionLogHandler = (deps: () => AppDeps) =>
  middy(async (event: unknown): Promise<{ outcomes: BastionLogOutcome['outcome'][] }> => {
    let payload: ReturnType<typeof parseLogsSubscriptionEvent>;
    try {
      payload = parseLogsSubscriptionEvent(event);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      logger.warn('ignoring a delivery that is not a log subscription event', {
        reason: error.message,
      });
      return { outcomes: [] };
    }
    if (payload.messageType !== 'DATA_MESSAGE') return { outcomes: [] };
    const outcomes: BastionLogOutcome['outcome'][] = [];
    for (const logEvent of payload.logEvents) {
      const result = await onEc2BastionLog(deps(), {
        stream: payload.logStream,
        message: logEvent.message,
      });
      if (result.outcome === 'ignored' || result.outcome === 'failed')
        logger.info('bastion log line changed nothing', {
          stream: payload.logStream,
          why: result.outcome === 'ignored' ? result.why : 'failed',
        });
      outcomes.push(result.outcome);
    }
    return { outcomes };
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics());

/** DynamoDB, EC2 (inspects the instance), Scheduler, SNS (lib/composition/acting.ts). */
export const handler = createOnBastionLogHandler(lazy(() => withMetrics(composeActing())));
