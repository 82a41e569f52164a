import { alertView } from '../lib/app/notify.ts';
import { requestSession } from '../lib/app/request-session.ts';
import { sessionView } from '../lib/app/session-view.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { meteredHttpFunction, withMetrics } from '../lib/composition/metrics.ts';
import { composeRequest, type RequestFunctionDeps } from '../lib/composition/request.ts';
import { json, parseJsonBody, parseWith } from '../lib/http/http-handler.ts';
import { bodyHash } from '../lib/http/idempotency.ts';
import { CreateSessionBody, IdempotencyKey } from '../lib/http/schemas.ts';

/** POST /sessions → 202 { id, status, links }; the bastion is launched asynchronously. */
export const createRequestSessionHandler = (deps: () => RequestFunctionDeps) =>
  meteredHttpFunction(deps, async ({ event, identity, sourceIp }, d) => {
    const request = parseJsonBody(event, CreateSessionBody);
    const key = event.headers['idempotency-key'];
    const idempotency =
      key === undefined
        ? undefined
        : { key: parseWith(IdempotencyKey, key, 'header'), bodyHash: bodyHash(request) };
    const { session, replayed, alert } = await requestSession(d, {
      identity,
      sourceIp,
      request,
      ...(idempotency ? { idempotency } : {}),
    });
    return json(
      202,
      { ...sessionView(session, d.policy), ...alertView(alert) },
      {
        location: `/sessions/${session.id}`,
        ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
      },
    );
  });

/** DynamoDB, SQS and SNS (lib/composition/request.ts); SSM only for an ssm target's check. */
export const handler = createRequestSessionHandler(lazy(() => withMetrics(composeRequest())));
