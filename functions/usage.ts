import { usageReport } from '../lib/app/usage.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { usageCsv } from '../lib/domain/usage-csv.ts';
import { json } from '../lib/http/http-handler.ts';
import { parseUsageQuery } from '../lib/http/usage-query.ts';

export type UsageDeps = CoreDeps & HttpDeps;

/** Talks to DynamoDB only. */
export const composeUsage = (): UsageDeps => composeCore();

/** GET /usage?from=&to=&groupBy=&format= → the usage and cost report (admins, finops), JSON or CSV. */
export const createUsageHandler = (deps: () => UsageDeps) =>
  httpFunction(deps, async ({ event, identity }, d) => {
    const query = parseUsageQuery(
      event.queryStringParameters ?? {},
      d.clock.now(),
      event.headers.accept,
    );
    const report = await usageReport(d, identity, query);
    if (query.format === 'json') return json(200, report);
    // json() for the common headers; the body and its type are CSV.
    const csv = json(200, null, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="drawbridge-usage-${report.from.slice(0, 10)}.csv"`,
    });
    return { ...csv, body: usageCsv(report) };
  });

export const handler = createUsageHandler(lazy(composeUsage));
