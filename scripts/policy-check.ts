// Validates a Drawbridge policy file and prints what each group may do, so a reviewer reads
// the effect of a change rather than a YAML diff.
//
//   node scripts/policy-check.ts [file]        (default policy/drawbridge.policy.yaml)
//
// Exit status 0: valid (report on stdout); 1: invalid or unreadable (reason on stderr).
// serverless/validate-policy.cjs runs this before `osls package`, so a broken policy never ships.
import { readFileSync } from 'node:fs';
import { type Policy, parsePolicy } from '../lib/domain/policy.ts';

export const DEFAULT_POLICY_FILE = 'policy/drawbridge.policy.yaml';

export interface GrantRow {
  group: string;
  target: string;
  mode: string;
  destination: string;
  access: string;
  defaultMinutes: number;
  maxMinutes: number;
  sources: string;
}

/** One row per (group, target) pair the policy allows, grouped by group name. */
export function grantsByGroup(policy: Policy): GrantRow[] {
  const rows: GrantRow[] = [];
  for (const target of policy.targets) {
    for (const group of target.allowedGroups) {
      rows.push({
        group,
        target: target.name,
        mode: target.mode,
        destination: target.host.includes(':')
          ? `[${target.host}]:${target.port}`
          : `${target.host}:${target.port}`,
        access: target.access,
        defaultMinutes: target.defaultDurationMinutes,
        maxMinutes: target.maxDurationMinutes,
        sources: target.allowedSourceCidrs?.join(', ') ?? 'any address',
      });
    }
  }
  return rows.sort((a, b) => a.group.localeCompare(b.group) || a.target.localeCompare(b.target));
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}

export function formatPolicyReport(policy: Policy, source: string): string {
  const grants = grantsByGroup(policy).map((row) => [
    row.group,
    row.target,
    row.mode,
    row.destination,
    row.access,
    `${row.defaultMinutes}m`,
    `${row.maxMinutes}m`,
    row.sources,
  ]);
  const ec2Targets = policy.targets.filter((target) => target.network);
  return [
    `${source}: valid (${policy.targets.length} targets)`,
    '',
    table(['group', 'target', 'mode', 'destination', 'access', 'default', 'max', 'from'], grants),
    '',
    `admin group:  ${policy.adminGroup} (may see and end every session)`,
    `quota:        ${policy.quota.activeSessionsPerUser} live sessions per user`,
    `deadlines:    ready within ${policy.provisioningDeadlineMinutes}m; bastion self-destructs ${policy.selfDestructGraceMinutes}m after its window`,
    `retention:    ended sessions purged after ${policy.retentionDays} days`,
    ...(ec2Targets.length > 0
      ? [
          '',
          table(
            ['ec2 target', 'vpc', 'subnets', 'instance types'],
            ec2Targets.map((target) => [
              target.name,
              target.network?.vpcId ?? '',
              target.network?.subnetIds.join(', ') ?? '',
              target.instanceTypes.join(', '),
            ]),
          ),
        ]
      : []),
  ].join('\n');
}

export function checkPolicyFile(file: string): Policy {
  return parsePolicy(readFileSync(file, 'utf8'), file);
}

if (import.meta.main) {
  const file = process.argv[2] ?? DEFAULT_POLICY_FILE;
  try {
    process.stdout.write(`${formatPolicyReport(checkPolicyFile(file), file)}\n`);
  } catch (error) {
    const message =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${file}: no such file`
        : (error as Error).message;
    process.stderr.write(`${message}\n`);
    process.exitCode = 1;
  }
}
