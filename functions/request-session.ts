import { alertView } from '../lib/app/notify.ts';
import { requestSession } from '../lib/app/request-session.ts';
import { sessionView } from '../lib/app/session-view.ts';
import { httpOptions } from '../lib/composition/core.ts';
import { requestDeps } from '../lib/composition/request.ts';
import { httpHandler, json, parseJsonBody, parseWith } from '../lib/http/http-handler.ts';
import { bodyHash } from '../lib/http/idempotency.ts';
import { CreateSessionBody, IdempotencyKey } from '../lib/http/schemas.ts';

/** POST /sessions → 202 { id, status, links }; the bastion is launched asynchronously. */
export const handler = httpHandler(httpOptions, async ({ event, identity, sourceIp }) => {
  const deps = requestDeps();
  const request = parseJsonBody(event, CreateSessionBody);
  const key = event.headers['idempotency-key'];
  const idempotency =
    key === undefined
      ? undefined
      : { key: parseWith(IdempotencyKey, key, 'header'), bodyHash: bodyHash(request) };
  const { session, replayed, alert } = await requestSession(deps, {
    identity,
    sourceIp,
    request,
    ...(idempotency ? { idempotency } : {}),
  });
  return json(
    202,
    { ...sessionView(session, deps.policy), ...alertView(alert) },
    {
      location: `/sessions/${session.id}`,
      ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
    },
  );
});
