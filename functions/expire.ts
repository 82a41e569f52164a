import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { expireSession } from '../lib/app/expire-session.ts';
import { appDeps, logger } from '../lib/composition.ts';
import { SessionMessage } from '../lib/http/event-schemas.ts';

/** Layer 2: invoked by the session's one-time EventBridge schedule at expiresAt. */
export const handler = middy(
  async (event: unknown): Promise<{ sessionId?: string; status?: string }> => {
    const parsed = SessionMessage.safeParse(event);
    if (!parsed.success) {
      logger.error('expire invoked without a valid session id');
      return {};
    }
    logger.appendKeys({ correlation_id: parsed.data.sessionId });
    const session = await expireSession(appDeps(), parsed.data.sessionId);
    return session ? { sessionId: session.id, status: session.status } : {};
  },
).use(injectLambdaContext(logger, { resetKeys: true }));
