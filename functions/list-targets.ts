import { listTargets } from '../lib/app/targets.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json } from '../lib/http/http-handler.ts';

export type ListTargetsDeps = Pick<CoreDeps, 'policy'> & HttpDeps;

/** Reads the policy only; talks to no AWS service. */
export const composeListTargets = (): ListTargetsDeps => composeCore();

/** GET /targets → what the caller may open: mode, durations, approval, MFA, break-glass. */
export const createListTargetsHandler = (deps: () => ListTargetsDeps) =>
  httpFunction(deps, async ({ identity }, d) =>
    json(200, { items: listTargets(d.policy, identity) }),
  );

export const handler = createListTargetsHandler(lazy(composeListTargets));
