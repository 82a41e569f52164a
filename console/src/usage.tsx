import { useState } from 'preact/hooks';
import { api, download, type Percentiles, type UsageReport } from './api.ts';
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
          <TimeToReadySection timeToReady={data.day.timeToReady} />
        </>
      ) : (
        <p class="muted">Loading…</p>
      )}
    </>
  );
}

const PHASES = [
  ['launch', 'Drawbridge: request to launch'],
  ['running', 'Cloud: launch to running'],
  ['ready', 'Boot and proof: running to READY'],
] as const;

const seconds = (value: number) => `${format(value)} s`;

/** Time to ready: p50 and p95 overall and per phase (table), and p95 per target (chart). */
function TimeToReadySection({ timeToReady }: { timeToReady: UsageReport['timeToReady'] }) {
  const row = (label: string, figures: Percentiles) => (
    <tr key={label}>
      <th scope="row">{label}</th>
      <td class="number">{figures.samples}</td>
      <td class="number">{seconds(figures.p50Seconds)}</td>
      <td class="number">{seconds(figures.p95Seconds)}</td>
    </tr>
  );
  return (
    <Section title="Time to ready">
      <div class="grid">
        <table aria-label="Time to ready percentiles">
          <thead>
            <tr>
              <th scope="col">Phase</th>
              <th scope="col" class="number">
                Sessions
              </th>
              <th scope="col" class="number">
                p50
              </th>
              <th scope="col" class="number">
                p95
              </th>
            </tr>
          </thead>
          <tbody>
            {row('Request to READY (all)', timeToReady.all.total)}
            {PHASES.map(([phase, label]) => row(label, timeToReady.all.phases[phase]))}
          </tbody>
        </table>
        <Rows
          title="Time from request to READY per target, p95 (seconds)"
          unit="s"
          bars={Object.entries(timeToReady.targets).map(([target, figures]) => ({
            label: target,
            value: figures.total.p95Seconds,
          }))}
        />
      </div>
    </Section>
  );
}
