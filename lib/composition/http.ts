import { logger } from '../aws/logger.ts';
import {
  type HttpEvent,
  type HttpRequest,
  type HttpResult,
  httpHandler,
} from '../http/http-handler.ts';
import type { HttpDeps } from './core.ts';

/**
 * An HTTP function over its dependencies: `deps()` is called per request (the composition is
 * built on the first), so a missing setting answers 500 and logs the variable's name, and tests
 * and local mode pass their own. The shared middy stack is lib/http/http-handler.ts; a function
 * that emits metrics uses meteredHttpFunction (lib/composition/metrics.ts) instead.
 */
export function httpFunction<Deps extends HttpDeps>(
  deps: () => Deps,
  route: (request: HttpRequest, deps: Deps) => Promise<HttpResult>,
) {
  return httpHandler({ groupsClaim: () => deps().groupsClaim, logger }, (request) =>
    route(request, deps()),
  );
}

export type HttpFunction = ReturnType<typeof httpFunction>;
export type { HttpEvent, HttpResult };
