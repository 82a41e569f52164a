import { usageReport } from '../lib/app/usage.ts';
import { coreDeps, httpOptions } from '../lib/composition/core.ts';
import { usageCsv } from '../lib/domain/usage-csv.ts';
import { parseUsageQuery } from '../lib/domain/usage-query.ts';
import { httpHandler, json } from '../lib/http/http-handler.ts';

/** GET /usage?from=&to=&groupBy=&format= → the usage and cost report (admins, finops), JSON or CSV. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const deps = coreDeps();
  const query = parseUsageQuery(
    event.queryStringParameters ?? {},
    deps.clock.now(),
    event.headers.accept,
  );
  const report = await usageReport(deps, identity, query);
  if (query.format === 'json') return json(200, report);
  // json() for the common headers; the body and its type are CSV.
  const csv = json(200, null, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="drawbridge-usage-${report.from.slice(0, 10)}.csv"`,
  });
  return { ...csv, body: usageCsv(report) };
});
