import { createApproveSessionHandler } from '../../functions/approve-session.ts';
import { CONSOLE_DIR, createConsoleHandler } from '../../functions/console.ts';
import { createDenySessionHandler } from '../../functions/deny-session.ts';
import { createEndSessionHandler } from '../../functions/end-session.ts';
import { createExtendSessionHandler } from '../../functions/extend-session.ts';
import { createGetRecordingHandler } from '../../functions/get-recording.ts';
import { createGetSessionHandler } from '../../functions/get-session.ts';
import { createListApprovalsHandler } from '../../functions/list-approvals.ts';
import { createListReviewsHandler } from '../../functions/list-reviews.ts';
import { createListSessionsHandler } from '../../functions/list-sessions.ts';
import { createListTargetsHandler } from '../../functions/list-targets.ts';
import { createRequestSessionHandler } from '../../functions/request-session.ts';
import { createReviewSessionHandler } from '../../functions/review-session.ts';
import { createSessionEventsHandler } from '../../functions/session-events.ts';
import { createUsageHandler } from '../../functions/usage.ts';
import { createVerifyAuditHandler } from '../../functions/verify-audit.ts';
import type { Route } from '../local/local-api.ts';
import type { ActingDeps } from './acting.ts';

/**
 * The HTTP API's routes (as serverless.yml declares them) with every handler built over one
 * set of dependencies: how local mode and the tests run the very handlers Lambda runs, with
 * their own adapters. POST /sessions/{id}/credentials is absent: local mode has no ssm.
 */
export function httpRoutes(deps: () => ActingDeps): Route[] {
  return [
    { method: 'POST', path: '/sessions', handler: createRequestSessionHandler(deps) },
    { method: 'GET', path: '/sessions', handler: createListSessionsHandler(deps) },
    { method: 'GET', path: '/sessions/{id}', handler: createGetSessionHandler(deps) },
    { method: 'DELETE', path: '/sessions/{id}', handler: createEndSessionHandler(deps) },
    { method: 'GET', path: '/sessions/{id}/events', handler: createSessionEventsHandler(deps) },
    { method: 'POST', path: '/sessions/{id}/extend', handler: createExtendSessionHandler(deps) },
    { method: 'POST', path: '/sessions/{id}/approve', handler: createApproveSessionHandler(deps) },
    { method: 'POST', path: '/sessions/{id}/deny', handler: createDenySessionHandler(deps) },
    { method: 'GET', path: '/approvals', handler: createListApprovalsHandler(deps) },
    { method: 'GET', path: '/reviews', handler: createListReviewsHandler(deps) },
    { method: 'POST', path: '/reviews/{id}', handler: createReviewSessionHandler(deps) },
    { method: 'GET', path: '/sessions/{id}/audit', handler: createVerifyAuditHandler(deps) },
    {
      method: 'GET',
      path: '/sessions/{id}/recording',
      handler: createGetRecordingHandler(deps),
    },
    { method: 'GET', path: '/usage', handler: createUsageHandler(deps) },
    { method: 'GET', path: '/targets', handler: createListTargetsHandler(deps) },
  ];
}

/**
 * The console's routes, which have no authorizer (serverless.yml declares them the same way).
 * Local mode's identity provider shares the API's origin, so no other origin is allowed.
 */
export function consoleRoutes(dir = CONSOLE_DIR): Route[] {
  const handler = createConsoleHandler(() => ({ dir }));
  return [
    { method: 'GET', path: '/', handler, public: true },
    { method: 'GET', path: '/assets/{file}', handler, public: true },
  ];
}
