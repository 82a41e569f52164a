import { logger } from '../aws/logger.ts';
import { flushMetrics, PowertoolsMetrics } from '../aws/powertools-metrics.ts';
import type { Metrics } from '../ports/metrics.ts';
import { httpFunction } from './http.ts';

/**
 * CloudWatch metrics (Powertools, EMF), for the functions whose use case emits some: session
 * changes, provisioning, expiry and the reaper. The read functions emit none, so they neither
 * build nor bundle the metrics client (≈11 KB and a few ms of every cold start).
 */
export function withMetrics<Deps extends { config: { stage: string } }>(
  deps: Deps,
): Deps & { metrics: Metrics } {
  return { ...deps, metrics: new PowertoolsMetrics({ stage: deps.config.stage, logger }) };
}

export { flushMetrics };

/** httpFunction, whose invocation ends with one flush of what it emitted (logMetrics). */
export const meteredHttpFunction: typeof httpFunction = (deps, route) =>
  httpFunction(deps, route).use(flushMetrics());
