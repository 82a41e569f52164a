import type { UsageFigures, UsageReport } from './usage.ts';

/**
 * The usage report as CSV (RFC 4180, CRLF) for a spreadsheet: one row per group, then the
 * total and the idle baseline, told apart by the first column, not by a key a user name
 * could collide with. Every figure the JSON has per group is a column; orphans are per day
 * (groupBy=day) and in the total.
 */
export const CSV_COLUMNS = [
  'row',
  'key',
  'sessions',
  'bastion_seconds',
  'billed_seconds',
  'instances_usd',
  'public_ipv4_usd',
  'lambda_usd',
  'dynamodb_usd',
  'total_usd',
  'overstay_sessions',
  'overstay_p50_seconds',
  'overstay_p99_seconds',
  'overstay_max_seconds',
  'break_glass_sessions',
  'orphans_found',
  'orphans_reaped',
] as const;

/**
 * A cell a spreadsheet would read as a formula (=, +, -, @, tab, CR first) gets a leading
 * apostrophe: user names and targets come from tokens and policy, not from us.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const money = (usd: number): string => usd.toFixed(6);
const number = (value: number): string => String(value);

function figureCells(figures: UsageFigures): string[] {
  const { cost, overstay } = figures;
  return [
    number(figures.sessions),
    number(figures.bastionSeconds),
    number(figures.billedSeconds),
    money(cost.instances),
    money(cost.publicIpv4),
    money(cost.lambda),
    money(cost.dynamodb),
    money(cost.total),
    number(overstay.sessions),
    number(overstay.p50Seconds),
    number(overstay.p99Seconds),
    number(overstay.maxSeconds),
    number(figures.breakGlassSessions),
  ];
}

const optional = (value: number | undefined): string => (value === undefined ? '' : number(value));

export function usageCsv(report: UsageReport): string {
  const rows: string[][] = [[...CSV_COLUMNS]];
  for (const group of report.groups) {
    rows.push([
      'group',
      csvCell(group.key),
      ...figureCells(group),
      optional(group.orphansFound),
      optional(group.orphansReaped),
    ]);
  }
  rows.push([
    'total',
    csvCell(`${report.from}/${report.to}`),
    ...figureCells(report.totals),
    number(report.orphans.found),
    number(report.orphans.reaped),
  ]);
  const baseline = report.idleBaseline.lambda;
  rows.push([
    'idle-baseline',
    'reaper',
    ...['0', '0', '0', money(0), money(0), money(baseline), money(0), money(baseline)],
    ...['0', '0', '0', '0', '0', '', ''],
  ]);
  return `${rows.map((row) => row.join(',')).join('\r\n')}\r\n`;
}
