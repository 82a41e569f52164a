import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { AppDeps } from '../lib/app/deps.ts';
import { onInstanceState } from '../lib/app/observe-bastion.ts';
import { composeActing } from '../lib/composition/acting.ts';
import { logger } from '../lib/composition/core.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { flushMetrics, withMetrics } from '../lib/composition/metrics.ts';
import { InstanceStateEvent } from '../lib/http/event-schemas.ts';

/** EC2 state changes: running completes provisioning; terminated from outside ends the session. */
export const createOnInstanceStateHandler = (deps: () => AppDeps) =>
  middy(async (event: unknown): Promise<{ sessionId?: string; status?: string }> => {
    const parsed = InstanceStateEvent.safeParse(event);
    if (!parsed.success) {
      logger.warn('ignoring an event that is not an EC2 state change');
      return {};
    }
    const { 'instance-id': instanceId, state } = parsed.data.detail;
    const session = await onInstanceState(deps(), instanceId, state);
    return session ? { sessionId: session.id, status: session.status } : {};
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics());

/** DynamoDB, EC2 (inspects the instance), Scheduler, SNS (lib/composition/acting.ts). */
export const handler = createOnInstanceStateHandler(lazy(() => withMetrics(composeActing())));
