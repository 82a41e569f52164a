// Validates a Drawbridge policy file and prints what each group may do, so a reviewer reads
// the effect of a change rather than a YAML diff.
//
//   node scripts/policy-check.ts [file]        (default policy/drawbridge.policy.yaml)
//   node scripts/policy-check.ts --launch-facts [file]   VPCs, subnets, instance types as JSON
//   node scripts/policy-check.ts --json [file]   also writes the validated policy as JSON
//                                                (policyJsonPath: what the functions read)
//
// Exit status 0: valid (report on stdout); 1: invalid or unreadable (reason on stderr).
// serverless/validate-policy.cjs runs this before `osls package`, so a broken policy never ships.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { Policy, Target } from '../lib/domain/policy.ts';
import { parsePolicy } from '../lib/domain/policy-yaml.ts';

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
  /** extra hurdles before access: approval, a fresh second factor */
  conditions: string;
}

const destinationOf = (target: Target): string =>
  target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;

/**
 * One row per (group, target) pair the policy allows, grouped by group name; break-glass
 * groups get a row for every target break-glass covers, marked as such in the conditions.
 */
export function grantsByGroup(policy: Policy): GrantRow[] {
  const rows: GrantRow[] = [];
  const breakGlass = policy.breakGlass;
  if (breakGlass) {
    const covered = policy.targets.filter(
      (target) => !breakGlass.targets || breakGlass.targets.includes(target.name),
    );
    for (const target of covered) {
      const maxMinutes = Math.min(breakGlass.maxDurationMinutes, target.maxDurationMinutes);
      for (const group of breakGlass.groups) {
        rows.push({
          group,
          target: target.name,
          mode: target.mode,
          destination: destinationOf(target),
          access: target.ssm ? target.ssm.documents.join('+') : target.access,
          defaultMinutes: Math.min(target.defaultDurationMinutes, maxMinutes),
          maxMinutes,
          sources: target.allowedSourceCidrs?.join(', ') ?? 'any address',
          conditions: [
            `BREAK-GLASS: no approval, own quota ${breakGlass.quota}, alert + review`,
            breakGlass.requireMfa && `MFA within ${breakGlass.requireMfa.maxAgeMinutes}m`,
          ]
            .filter(Boolean)
            .join(', '),
        });
      }
    }
  }
  for (const target of policy.targets) {
    for (const group of target.allowedGroups) {
      rows.push({
        group,
        target: target.name,
        mode: target.mode,
        destination: target.host.includes(':')
          ? `[${target.host}]:${target.port}`
          : `${target.host}:${target.port}`,
        // ssm: the Session Manager documents the grant allows, in place of ssh access
        access: target.ssm ? target.ssm.documents.join('+') : target.access,
        defaultMinutes: target.defaultDurationMinutes,
        maxMinutes: target.maxDurationMinutes,
        sources: target.allowedSourceCidrs?.join(', ') ?? 'any address',
        conditions:
          [
            target.approval &&
              `approval by ${target.approval.approverGroups.join('|')} within ${target.approval.timeoutMinutes}m`,
            target.requireMfa && `MFA within ${target.requireMfa.maxAgeMinutes}m`,
          ]
            .filter(Boolean)
            .join(', ') || '-',
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

/** How far a session of this target can be extended (lib/domain/extension.ts). */
function extensionRule(target: Target): string {
  if (target.approval) return 'none: request again (approval)';
  if (target.mode === 'local') return `up to ${target.maxDurationMinutes}m in all (key rewritten)`;
  if (target.extensionHeadroomMinutes === 0) return 'none: the key bound is fixed at launch';
  return `up to +${target.extensionHeadroomMinutes}m over the request, ${target.maxDurationMinutes}m in all`;
}

function breakGlassSummary(policy: Policy): string {
  const breakGlass = policy.breakGlass;
  if (!breakGlass) return 'not configured';
  return [
    `groups ${breakGlass.groups.join(', ')}`,
    `targets ${breakGlass.targets?.join(', ') ?? 'all'}`,
    `max ${breakGlass.maxDurationMinutes}m`,
    `quota ${breakGlass.quota}`,
    ...(breakGlass.requireMfa ? [`MFA within ${breakGlass.requireMfa.maxAgeMinutes}m`] : []),
    'no approval',
    `alert at once, review after${breakGlass.notify.length ? `, notices: ${breakGlass.notify.join(', ')}` : ''}`,
  ].join('; ');
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
    row.conditions,
  ]);
  const ec2Targets = policy.targets.filter((target) => target.network);
  return [
    `${source}: valid (${policy.targets.length} targets)`,
    '',
    table(
      ['group', 'target', 'mode', 'destination', 'access', 'default', 'max', 'from', 'conditions'],
      grants,
    ),
    '',
    `admin group:  ${policy.adminGroup} (may see and end every session)`,
    `quota:        ${policy.quota.activeSessionsPerUser} live sessions per user`,
    `deadlines:    ready within ${policy.provisioningDeadlineMinutes}m; bastion self-destructs ${policy.selfDestructGraceMinutes}m after its window`,
    `retention:    ended sessions purged after ${policy.retentionDays} days`,
    `break-glass:  ${breakGlassSummary(policy)}`,
    '',
    table(
      ['target', 'approved by', 'extensions', 'notices'],
      policy.targets.map((target) => [
        target.name,
        target.approval
          ? `${target.approval.approverGroups.join('|')} within ${target.approval.timeoutMinutes}m (never the requester)`
          : '-',
        extensionRule(target),
        target.notify?.join(', ') ?? '-',
      ]),
    ),
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

/**
 * What the packaged IAM policy needs from the access policy (serverless/validate-policy.cjs):
 * RunInstances may use only these subnets and instance types, CreateSecurityGroup only these
 * VPCs. Every target that launches a bastion (ec2, fresh ssm) contributes.
 */
export interface LaunchFacts {
  vpcIds: string[];
  subnetIds: string[];
  instanceTypes: string[];
}

export function launchFacts(policy: Policy): LaunchFacts {
  const vpcIds = new Set<string>();
  const subnetIds = new Set<string>();
  const instanceTypes = new Set<string>();
  for (const target of policy.targets) {
    if (!target.network) continue;
    vpcIds.add(target.network.vpcId);
    for (const subnet of target.network.subnetIds) subnetIds.add(subnet);
    for (const type of target.instanceTypes) instanceTypes.add(type);
  }
  const sorted = (values: Set<string>) => [...values].sort();
  return {
    vpcIds: sorted(vpcIds),
    subnetIds: sorted(subnetIds),
    instanceTypes: sorted(instanceTypes),
  };
}

/**
 * Where the package step writes the validated policy as JSON, which the functions read
 * (POLICY_FILE): under .build/, named after the YAML so that stages never share one.
 */
export function policyJsonPath(file: string): string {
  const name = isAbsolute(file) ? basename(file) : file;
  return join('.build', name.replace(/\.ya?ml$/i, '').concat('.json'));
}

if (import.meta.main) {
  const [flag, ...rest] = process.argv.slice(2);
  const facts = flag === '--launch-facts';
  const json = flag === '--json';
  const file = (facts || json ? rest[0] : flag) ?? DEFAULT_POLICY_FILE;
  try {
    const policy = checkPolicyFile(file);
    if (json) {
      const out = policyJsonPath(file);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${JSON.stringify(policy, null, 2)}\n`);
    }
    process.stdout.write(
      facts ? `${JSON.stringify(launchFacts(policy))}\n` : `${formatPolicyReport(policy, file)}\n`,
    );
  } catch (error) {
    const message =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${file}: no such file`
        : (error as Error).message;
    process.stderr.write(`${message}\n`);
    process.exitCode = 1;
  }
}
