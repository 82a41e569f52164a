import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { AppDeps } from '../lib/app/deps.ts';
import { expireSession } from '../lib/app/expire-session.ts';
import { composeActing } from '../lib/composition/acting.ts';
import { logger } from '../lib/composition/core.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { flushMetrics, withMetrics } from '../lib/composition/metrics.ts';
import { SessionMessage } from '../lib/http/event-schemas.ts';

/** time kept after the wait to terminate the bastion and record the end */
const END_MARGIN_MS = 20_000;

/** Layer 2: invoked by the session's one-time EventBridge schedule at expiresAt. */
export const createExpireHandler = (deps: () => AppDeps) =>
  middy(
    async (event: unknown, context: Context): Promise<{ sessionId?: string; status?: string }> => {
      const parsed = SessionMessage.safeParse(event);
      if (!parsed.success) {
        logger.error('expire invoked without a valid session id');
        return {};
      }
      logger.appendKeys({ correlation_id: parsed.data.sessionId });
      // The schedule fires early (fireMinuteFor): wait for expiresAt within this run's time,
      // keeping a margin to end the session after the wait.
      const maxWaitMs = Math.max(0, context.getRemainingTimeInMillis() - END_MARGIN_MS);
      const session = await expireSession(deps(), parsed.data.sessionId, { maxWaitMs });
      return session ? { sessionId: session.id, status: session.status } : {};
    },
  )
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics());

/** DynamoDB, Scheduler, SNS; EC2/SSM only to end an ec2/ssm session (lib/composition/acting.ts). */
export const handler = createExpireHandler(lazy(() => withMetrics(composeActing())));
