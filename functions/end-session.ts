import { revokeSession } from '../lib/app/revoke-session.ts';
import { sessionView } from '../lib/app/session-view.ts';
import { type ActingDeps, composeActing } from '../lib/composition/acting.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { meteredHttpFunction, withMetrics } from '../lib/composition/metrics.ts';
import { json } from '../lib/http/http-handler.ts';

/** DELETE /sessions/{id} → revoke now (owner or admin). 200 when ended, 202 while ENDING. */
export const createEndSessionHandler = (deps: () => ActingDeps) =>
  meteredHttpFunction(deps, async ({ event, identity }, d) => {
    const session = await revokeSession(d, identity, event.pathParameters?.id ?? '');
    return json(session.status === 'ENDING' ? 202 : 200, sessionView(session, d.policy));
  });

/** DynamoDB, Scheduler, SQS, SNS; EC2/SSM only to release an ec2/ssm bastion (lib/composition/acting.ts). */
export const handler = createEndSessionHandler(lazy(() => withMetrics(composeActing())));
