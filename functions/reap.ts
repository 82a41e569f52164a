import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { AppDeps } from '../lib/app/deps.ts';
import { type ReapReport, reap } from '../lib/app/reap.ts';
import { composeActing } from '../lib/composition/acting.ts';
import { logger } from '../lib/composition/core.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { flushMetrics, withMetrics } from '../lib/composition/metrics.ts';

/** Layer 3, every minute: end what is overdue and destroy what no live session accounts for. */
export const createReapHandler = (deps: () => AppDeps) =>
  middy(async (): Promise<ReapReport> => {
    const report = await reap(deps());
    logger.info('reaper sweep', { report });
    return report;
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics());

/**
 * DynamoDB (the overdue index), Scheduler, SNS; EC2 and SSM load on the first provider call,
 * i.e. when reconciling or ending an ec2/ssm session (lib/composition/acting.ts).
 */
export const handler = createReapHandler(lazy(() => withMetrics(composeActing())));
