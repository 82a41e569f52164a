import { listTargets } from '../lib/app/targets.ts';
import { coreDeps, httpOptions } from '../lib/composition/core.ts';
import { httpHandler, json } from '../lib/http/http-handler.ts';

/** GET /targets → what the caller may open: mode, durations, approval, MFA, break-glass. */
export const handler = httpHandler(httpOptions, async ({ identity }) =>
  json(200, { items: listTargets(coreDeps().policy, identity) }),
);
