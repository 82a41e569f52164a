import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { onInstanceState } from '../lib/app/observe-bastion.ts';
import { appDeps, logger } from '../lib/composition.ts';
import { InstanceStateEvent } from '../lib/http/event-schemas.ts';

/** EC2 state changes: running completes provisioning; terminated from outside ends the session. */
export const handler = middy(
  async (event: unknown): Promise<{ sessionId?: string; status?: string }> => {
    const parsed = InstanceStateEvent.safeParse(event);
    if (!parsed.success) {
      logger.warn('ignoring an event that is not an EC2 state change');
      return {};
    }
    const { 'instance-id': instanceId, state } = parsed.data.detail;
    const session = await onInstanceState(appDeps(), instanceId, state);
    return session ? { sessionId: session.id, status: session.status } : {};
  },
).use(injectLambdaContext(logger, { resetKeys: true }));
