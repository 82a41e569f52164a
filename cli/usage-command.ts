import * as z from 'zod/mini';
import { ValidationError } from '../lib/domain/errors.ts';
import { MODES } from '../lib/domain/session.ts';
import { GROUP_BY, type ModeUsage, type UsageReport } from '../lib/domain/usage.ts';
import { usageCsv } from '../lib/domain/usage-csv.ts';
import { parseReportTime } from '../lib/http/usage-query.ts';
import { localApiUrl } from './config.ts';
import type { Context } from './context.ts';
import { ExitCode, UsageError } from './errors.ts';
import { clean, json, table } from './format.ts';

// The report as the CLI needs it to print every view (table, CSV, JSON); loose so a newer API
// may add fields. The CSV is rendered here from the same function the API uses.
const num = z.number();
const Cost = z.looseObject({
  instances: num,
  publicIpv4: num,
  lambda: num,
  dynamodb: num,
  total: num,
});
const Overstay = z.looseObject({
  sessions: num,
  p50Seconds: num,
  p99Seconds: num,
  maxSeconds: num,
});
const figures = {
  sessions: num,
  bastionSeconds: num,
  billedSeconds: num,
  cost: Cost,
  overstay: Overstay,
  breakGlassSessions: num,
};
export const percentiles = z.looseObject({ samples: num, p50Seconds: num, p95Seconds: num });
const readiness = z.looseObject({
  sessions: num,
  total: percentiles,
  phases: z.looseObject({ launch: percentiles, running: percentiles, ready: percentiles }),
});

const UsageReportView = z.looseObject({
  from: z.string(),
  to: z.string(),
  generatedAt: z.string(),
  groupBy: z.enum(GROUP_BY),
  currency: z.literal('USD'),
  groups: z.array(
    z.looseObject({
      key: z.string(),
      ...figures,
      orphansFound: z.optional(num),
      orphansReaped: z.optional(num),
    }),
  ),
  totals: z.looseObject(figures),
  idleBaseline: z.looseObject({ lambda: num }),
  days: z.array(z.looseObject({ day: z.string(), bastionSeconds: num })),
  orphans: z.looseObject({ found: num, reaped: num, sweeps: num }),
  reaper: z.looseObject({ endedAfterMissedSchedule: num, failedAtDeadline: num }),
  breakGlass: z.looseObject({ sessions: num, openReviews: num }),
  timeToReady: z.looseObject({ all: readiness, targets: z.record(z.string(), readiness) }),
  pricing: z.looseObject({
    source: z.enum(['policy', 'default']),
    unpricedInstanceTypes: z.array(z.string()),
  }),
  // Optional: an API from before per-mode figures answers without them.
  modes: z.optional(
    z.array(
      z.looseObject({
        mode: z.enum(MODES),
        sessions: num,
        timeToReady: Overstay,
        instanceCost: num,
      }),
    ),
  ),
});

const secs = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)}s`;

/** Time to ready, p50/p95, and where it went: Drawbridge's launch, the cloud's boot, sshd's proof. */
function readinessLine(stats: UsageReport['timeToReady']['all']): string {
  if (stats.sessions === 0) return 'time to ready: no session became ready\n';
  const { launch, running, ready } = stats.phases;
  return `time to ready: p50 ${secs(stats.total.p50Seconds)}, p95 ${secs(stats.total.p95Seconds)} over ${stats.sessions} sessions (p50 launch ${secs(launch.p50Seconds)}, running ${secs(running.p50Seconds)}, ready ${secs(ready.p50Seconds)})\n`;
}

const usd = (value: number): string => `$${value.toFixed(4)}`;
const hours = (seconds: number): string => (seconds / 3_600).toFixed(2);

/** 45s, 3m20s, 2h5m: overstay reads in the unit it happens in. */
export function shortDuration(seconds: number): string {
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3_600) return `${Math.floor(whole / 60)}m${whole % 60 ? `${whole % 60}s` : ''}`;
  const minutes = Math.round((whole % 3_600) / 60);
  return `${Math.floor(whole / 3_600)}h${minutes ? `${minutes}m` : ''}`;
}

/** Time to READY: tenths below 10 s, where an eice grant and an ec2 boot differ most. */
export function readyDuration(seconds: number): string {
  return seconds < 10 ? `${(Math.round(seconds * 10) / 10).toFixed(1)}s` : shortDuration(seconds);
}

/** One line a mode: how fast its sessions were READY, and what its instances cost. */
export function modeTable(modes: readonly ModeUsage[]): string {
  if (modes.length === 0) return '';
  const rows = modes.map((mode) => [
    clean(mode.mode, 8),
    String(mode.sessions),
    mode.timeToReady.sessions ? readyDuration(mode.timeToReady.p50Seconds) : '-',
    mode.timeToReady.sessions ? readyDuration(mode.timeToReady.p99Seconds) : '-',
    mode.timeToReady.sessions ? readyDuration(mode.timeToReady.maxSeconds) : '-',
    usd(mode.instanceCost),
  ]);
  return `time to READY and instance cost by mode\n${table(['MODE', 'SESSIONS', 'READY P50', 'READY P99', 'READY MAX', 'INSTANCES'], rows)}`;
}

const BAR_WIDTH = 40;
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar `value / max` of BAR_WIDTH cells, to an eighth of a cell. */
export function bar(value: number, max: number, width = BAR_WIDTH): string {
  if (!(max > 0) || !(value > 0)) return '';
  const eighths = Math.max(1, Math.round((Math.min(value, max) / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + (EIGHTHS[eighths % 8] ?? '');
}

/** Bastion-hours per UTC day, one line a day, scaled to the busiest. */
export function dayChart(days: readonly { day: string; bastionSeconds: number }[]): string {
  const max = Math.max(0, ...days.map((day) => day.bastionSeconds));
  if (max === 0) return 'no bastion time in this window\n';
  const lines = days.map((day) => {
    const drawn = bar(day.bastionSeconds, max);
    return `${clean(day.day, 10)} │${drawn.padEnd(BAR_WIDTH)} ${hours(day.bastionSeconds)}`;
  });
  return `bastion-hours per day (UTC)\n${lines.join('\n')}\n`;
}

const KEY_HEADER: Record<UsageReport['groupBy'], string> = {
  user: 'USER',
  target: 'TARGET',
  team: 'TEAM',
  day: 'DAY',
};

export interface RenderOptions {
  /** the API is local mode on this machine: its reaper runs in-process and costs nothing */
  local?: boolean;
}

export function renderUsage(report: UsageReport, options: RenderOptions = {}): string {
  const idle = options.local
    ? 'no idle baseline (local mode: the reaper runs inside npm start)'
    : `idle baseline (the reaper) ${usd(report.idleBaseline.lambda)}`;
  const { totals } = report;
  const rows = [...report.groups, { key: 'total', ...totals }].map((group) => [
    clean(group.key, 48),
    String(group.sessions),
    hours(group.bastionSeconds),
    usd(group.cost.total),
    group.overstay.sessions ? shortDuration(group.overstay.maxSeconds) : '-',
  ]);
  const out = [
    `usage ${clean(report.from, 30)} to ${clean(report.to, 30)}, by ${report.groupBy}\n\n`,
    table([KEY_HEADER[report.groupBy], 'SESSIONS', 'BASTION-H', 'COST', 'OVERSTAY MAX'], rows),
    '\n',
    `cost (estimated, ${report.currency}): instances ${usd(totals.cost.instances)}, public IPv4 ${usd(totals.cost.publicIpv4)}, Lambda ${usd(totals.cost.lambda)}, DynamoDB ${usd(totals.cost.dynamodb)}; ${idle}\n`,
    totals.overstay.sessions
      ? `overstay past the window: ${totals.overstay.sessions} sessions, p50 ${shortDuration(totals.overstay.p50Seconds)}, p99 ${shortDuration(totals.overstay.p99Seconds)}, max ${shortDuration(totals.overstay.maxSeconds)}\n`
      : 'overstay past the window: none\n',
    `orphans: ${report.orphans.found} found, ${report.orphans.reaped} reaped; the reaper ended ${report.reaper.endedAfterMissedSchedule} sessions whose scheduled end did not happen\n`,
    `break-glass: ${report.breakGlass.sessions} sessions, ${report.breakGlass.openReviews} reviews open\n`,
    readinessLine(report.timeToReady.all),
  ];
  const unpriced = report.pricing.unpricedInstanceTypes;
  if (unpriced.length > 0) {
    out.push(
      `no price for ${unpriced.map((type) => clean(type, 32)).join(', ')}: add them to the policy's pricing\n`,
    );
  }
  const modes = modeTable(report.modes);
  if (modes) out.push('\n', modes);
  out.push('\n', dayChart(report.days));
  return out.join('');
}

function checkTime(value: string | undefined, bound: 'from' | 'to'): void {
  if (value === undefined) return;
  try {
    parseReportTime(value, bound);
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(`--${bound}: ${error.message}`);
    throw error;
  }
}

/** drawbridge usage [--from D] [--to D] [--group-by G] [--csv | --json] */
export async function usage(context: Context): Promise<number> {
  const from = context.string('from');
  const to = context.string('to');
  checkTime(from, 'from');
  checkTime(to, 'to');
  const groupBy = context.string('group-by');
  if (groupBy !== undefined && !(GROUP_BY as readonly string[]).includes(groupBy)) {
    throw new UsageError(`--group-by must be one of ${GROUP_BY.join(', ')}`);
  }
  if (context.flag('csv') && context.json) throw new UsageError('choose one of --csv and --json');
  const query = new URLSearchParams();
  if (from) query.set('from', from);
  if (to) query.set('to', to);
  if (groupBy) query.set('groupBy', groupBy);
  const client = await context.client();
  const { data } = await client.request(
    'GET',
    `/usage${query.size ? `?${query}` : ''}`,
    UsageReportView,
    {
      retries: 2,
    },
  );
  const report: UsageReport = { ...data, modes: data.modes ?? [] };
  if (context.json) context.out(json(report));
  else if (context.flag('csv')) {
    // Keys come from tokens (user names); none may carry escape sequences to a terminal.
    const groups = report.groups.map((group) => ({ ...group, key: clean(group.key, 500) }));
    context.out(usageCsv({ ...report, groups }));
  } else {
    const local = client.url === (await localApiUrl(context.paths.dataDir));
    context.out(renderUsage(report, { local }));
  }
  return ExitCode.ok;
}
