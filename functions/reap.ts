import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type ReapReport, reap } from '../lib/app/reap.ts';
import { appDeps, logger } from '../lib/composition.ts';

/** Layer 3, every minute: end what is overdue and destroy what no live session accounts for. */
export const handler = middy(async (): Promise<ReapReport> => {
  const report = await reap(appDeps());
  logger.info('reaper sweep', { report });
  return report;
}).use(injectLambdaContext(logger, { resetKeys: true }));
