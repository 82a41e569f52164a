import { useState } from 'preact/hooks';
import { api, download, type UsageReport } from './api.ts';
import { Columns, format, Rows } from './charts.tsx';
import { ErrorNote, Section, usePoll } from './ui.tsx';

const GROUPS = ['user', 'target', 'team'] as const;

const isoDay = (offsetDays: number): string =>
  new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** Usage and cost (admins and FinOps): the API's report, drawn; the CSV as the API writes it. */
export function Usage() {
  const [from, setFrom] = useState(isoDay(-13));
  const [to, setTo] = useState(isoDay(0));
  const range = `from=${from}&to=${to}`;
  const report = usePoll(
    async () => {
      const [day, ...groups] = await Promise.all([
        api<UsageReport>('GET', `/usage?${range}&groupBy=day`),
        ...GROUPS.map((groupBy) => api<UsageReport>('GET', `/usage?${range}&groupBy=${groupBy}`)),
      ]);
      return { day, groups };
    },
    [range],
    30_000,
  );
  const data = report.data;
  const [error, setError] = useState<string | undefined>(undefined);
  const hours = (seconds: number) => seconds / 3600;
  return (
    <>
      <h1>Usage and cost</h1>
      <form class="row" onSubmit={(event) => event.preventDefault()}>
        <label>
          From
          <input
            type="date"
            value={from}
            onChange={(event) => setFrom(event.currentTarget.value)}
          />
        </label>
        <label>
          To
          <input type="date" value={to} onChange={(event) => setTo(event.currentTarget.value)} />
        </label>
        <button
          type="button"
          class="secondary"
          onClick={() =>
            void download(
              `/usage?${range}&groupBy=user&format=csv`,
              `drawbridge-usage-${from}.csv`,
            ).catch((failure: unknown) => setError(String(failure)))
          }
        >
          Download CSV
        </button>
      </form>
      <ErrorNote error={report.error ?? error} />
      {data ? (
        <>
          <Section title="Totals">
            <dl class="totals">
              <div>
                <dt>Sessions</dt>
                <dd>{data.day.totals.sessions}</dd>
              </div>
              <div>
                <dt>Bastion-hours</dt>
                <dd>{format(hours(data.day.totals.bastionSeconds))}</dd>
              </div>
              <div>
                <dt>Estimated cost</dt>
                <dd>${format(data.day.totals.cost.total)}</dd>
              </div>
              <div>
                <dt>Overstay p99</dt>
                <dd>{format(data.day.totals.overstay.p99Seconds)} s</dd>
              </div>
              <div>
                <dt>Break-glass</dt>
                <dd>{data.day.totals.breakGlassSessions}</dd>
              </div>
            </dl>
          </Section>
          <Section title="Bastion-hours per day">
            <Columns
              title="Bastion-hours per day"
              unit="h"
              bars={data.day.days.map((day) => ({
                label: day.day,
                value: hours(day.bastionSeconds),
              }))}
            />
          </Section>
          <div class="grid">
            {GROUPS.map((groupBy, index) => (
              <Section title={`Cost per ${groupBy}`} key={groupBy}>
                <Rows
                  title={`Estimated cost per ${groupBy} (USD)`}
                  unit="USD"
                  bars={(data.groups[index]?.groups ?? []).map((group) => ({
                    label: group.key,
                    value: group.cost.total,
                  }))}
                />
              </Section>
            ))}
            <Section title="Overstay by user">
              <Rows
                title="Overstay past the window, p99 per user (seconds)"
                unit="s"
                bars={(data.groups[0]?.groups ?? []).map((group) => ({
                  label: group.key,
                  value: group.overstay.p99Seconds,
                }))}
              />
            </Section>
          </div>
          <Section title="Time to ready">
            {data.day.timeToReady ? (
              <Rows
                title="Time from request to READY, percentiles (seconds)"
                unit="s"
                bars={Object.entries(data.day.timeToReady).map(([label, value]) => ({
                  label: label.replace('Seconds', ''),
                  value: Number(value),
                }))}
              />
            ) : (
              // TODO(GET /usage timeToReady): the report has no time-to-ready percentiles yet.
              <p class="muted">This API's usage report has no time-to-ready figures yet.</p>
            )}
          </Section>
        </>
      ) : (
        <p class="muted">Loading…</p>
      )}
    </>
  );
}
