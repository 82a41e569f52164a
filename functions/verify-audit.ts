import { verifySessionAudit } from '../lib/app/verify-audit.ts';
import { coreDeps, httpOptions } from '../lib/composition/core.ts';
import { httpHandler, json } from '../lib/http/http-handler.ts';

/** GET /sessions/{id}/audit → whether the session's audit trail is intact, recomputed from the table. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const result = await verifySessionAudit(coreDeps(), identity, event.pathParameters?.id ?? '');
  return json(200, result);
});
