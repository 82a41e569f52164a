import { verifySessionAudit } from '../lib/app/verify-audit.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json } from '../lib/http/http-handler.ts';

export type VerifyAuditDeps = CoreDeps & HttpDeps;

/** Talks to DynamoDB only. */
export const composeVerifyAudit = (): VerifyAuditDeps => composeCore();

/** GET /sessions/{id}/audit → whether the session's audit trail is intact, recomputed from the table. */
export const createVerifyAuditHandler = (deps: () => VerifyAuditDeps) =>
  httpFunction(deps, async ({ event, identity }, d) =>
    json(200, await verifySessionAudit(d, identity, event.pathParameters?.id ?? '')),
  );

export const handler = createVerifyAuditHandler(lazy(composeVerifyAudit));
