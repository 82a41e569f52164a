import { isIP } from 'node:net';
import { stringify } from 'yaml';
import { RECORDER_COMMAND } from '../domain/authorized-key.ts';
import type { Access } from '../domain/policy.ts';
import { MAX_SELF_DESTRUCT_MINUTES } from '../domain/policy.ts';
import { SESSION_ID_PATTERN } from '../domain/session.ts';
import {
  bannerFileContent,
  bannerProblem,
  hardenedSshdSettings,
} from '../domain/sshd-hardening.ts';

export interface BastionUserDataInput {
  sessionId: string;
  linuxUser: string;
  /** the complete authorized_keys line, options included (authorizedKeyLine) */
  authorizedKey: string;
  access: Access;
  targetHost: string;
  targetPort: number;
  /** `shutdown -h +N`: the bastion powers off (and so terminates) whatever else happens */
  selfDestructMinutes: number;
  logGroupName: string;
  /** the pre-login legal notice (policy `banner`), written to its own file */
  banner: string;
  /** the CloudWatch agent finds its region from instance metadata when this is absent */
  region?: string;
  /** recording: full (shell access only): the recorder is forced and its sink shipped */
  recording?: BastionRecording;
}

export interface BastionRecording {
  /** keystrokes too (never those typed with the terminal's echo off) */
  recordInput: boolean;
  /** no terminal activity this long closes the connection */
  idleSeconds?: number;
}

export const RECORDING_CONFIG_PATH = '/etc/drawbridge/recording.json';
/**
 * The recorder's sink: the session user's own file (the recorder runs as that user), which
 * root's CloudWatch agent ships line by line to the instance's stream. The recorder flushes a
 * chunk at most every second and the agent every force_flush_interval (5 s): a bastion killed
 * mid-session loses at most the last ~6 seconds.
 */
export const RECORDING_SINK_PATH = '/var/lib/drawbridge/recording.jsonl';

export const SSHD_CONFIG_PATH = '/etc/ssh/sshd_config.d/00-drawbridge.conf';
export const BANNER_PATH = '/etc/ssh/drawbridge-banner';
/**
 * The agent names the stream after the instance ({instance_id}, from instance metadata), so no
 * value in the user data chooses it; the reader (cloudwatch-session-log.ts) reads the stream of
 * the session's recorded instance id, and IAM lets the bastion write only `i-*` streams.
 */
export const LOG_STREAM_NAME = '{instance_id}';
export const IMDS_GUARD_PATH = '/etc/nftables/drawbridge-imds.nft';
/**
 * Instance metadata (and with it the instance role's credentials) for root only: session users
 * never hold credentials that could write to any log stream, their own or another session's.
 * The CloudWatch agent runs as root and keeps working.
 */
export const IMDS_GUARD = [
  'table inet drawbridge_imds {',
  '  chain output {',
  '    type filter hook output priority 0; policy accept;',
  '    ip daddr 169.254.169.254 meta skuid != 0 reject',
  '    ip6 daddr fd00:ec2::254 meta skuid != 0 reject',
  '  }',
  '}',
  '',
].join('\n');
export const AGENT_CONFIG_PATH = '/opt/aws/amazon-cloudwatch-agent/etc/drawbridge.json';
export const AGENT_CTL = '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl';
/** The longest window plus the longest grace the policy schema allows. */
export { MAX_SELF_DESTRUCT_MINUTES };

const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LOG_GROUP = /^[A-Za-z0-9._/#-]{1,512}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
// An authorized_keys line is printable ASCII on one line; anything else would be smuggling.
const KEY_LINE = /^[!-~][ -~]{0,16383}$/;

function unsafe(field: string): never {
  throw new Error(`unsafe ${field} for bastion user data`);
}

function validate(input: BastionUserDataInput): void {
  if (!SESSION_ID_PATTERN.test(input.sessionId)) unsafe('sessionId');
  if (!LINUX_USER.test(input.linuxUser)) unsafe('linuxUser');
  if (!KEY_LINE.test(input.authorizedKey)) unsafe('authorizedKey');
  if (input.access !== 'jump-only' && input.access !== 'shell') unsafe('access');
  if (isIP(input.targetHost) === 0 && !DNS_NAME.test(input.targetHost)) unsafe('targetHost');
  if (!Number.isInteger(input.targetPort) || input.targetPort < 1 || input.targetPort > 65535) {
    unsafe('targetPort');
  }
  if (
    !Number.isInteger(input.selfDestructMinutes) ||
    input.selfDestructMinutes < 1 ||
    input.selfDestructMinutes > MAX_SELF_DESTRUCT_MINUTES
  ) {
    unsafe('selfDestructMinutes');
  }
  if (!LOG_GROUP.test(input.logGroupName)) unsafe('logGroupName');
  if (input.region !== undefined && !REGION.test(input.region)) unsafe('region');
  if (typeof input.banner !== 'string' || bannerProblem(input.banner)) unsafe('banner');
  if (input.recording) {
    // A recorded session is a shell under the recorder, never a tunnel.
    if (input.access !== 'shell') unsafe('recording');
    const idle = input.recording.idleSeconds;
    if (idle !== undefined && (!Number.isInteger(idle) || idle < 1 || idle > 86_400)) {
      unsafe('recording');
    }
  }
}

/** `host:port` as sshd's PermitOpen wants it; IPv6 addresses go in brackets. */
export function permitOpenValue(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * A recorded bastion forwards nothing and runs only the recorder: its own values come first
 * and replace the shared forwarding lines (sshd keeps the first value of a keyword).
 */
function recordedSettings(shared: [string, string][]): [string, string][] {
  return [
    ...shared.map(([key, value]): [string, string] =>
      key === 'AllowTcpForwarding'
        ? [key, 'no']
        : key === 'PermitOpen'
          ? [key, 'none']
          : [key, value],
    ),
    ['DisableForwarding', 'yes'],
    ['ForceCommand', RECORDER_COMMAND],
  ];
}

function sshdConfig(input: BastionUserDataInput): string {
  const shared = hardenedSshdSettings(
    permitOpenValue(input.targetHost, input.targetPort),
    BANNER_PATH,
  );
  const settings: [string, string][] = [
    ['PermitRootLogin', 'no'],
    ['AllowUsers', input.linuxUser],
    ...(input.recording ? recordedSettings(shared) : shared),
    ...(input.access === 'jump-only' ? ([['PermitTTY', 'no']] as [string, string][]) : []),
    ['MaxSessions', '2'],
    ['ClientAliveInterval', '30'],
    ['ClientAliveCountMax', '3'],
  ];
  // sshd keeps the first value it reads for most keywords, and AL2023's sshd_config includes
  // sshd_config.d/*.conf first, in name order: the 00- prefix puts these ahead of 50-redhat.conf.
  return [
    `# Drawbridge session ${input.sessionId}: written at boot, not to be edited.`,
    ...settings.map(([key, value]) => `${key} ${value}`),
    '',
  ].join('\n');
}

function agentConfig(input: BastionUserDataInput): string {
  const config = {
    // root, because /var/log/secure is readable by root only
    agent: { run_as_user: 'root', ...(input.region ? { region: input.region } : {}) },
    logs: {
      force_flush_interval: 5,
      logs_collected: {
        files: {
          collect_list: [
            {
              file_path: '/var/log/secure',
              log_group_name: input.logGroupName,
              log_stream_name: LOG_STREAM_NAME,
              timezone: 'UTC',
            },
            // Each chunk is one line, one log event; the API filters them by the session id.
            ...(input.recording
              ? [
                  {
                    file_path: RECORDING_SINK_PATH,
                    log_group_name: input.logGroupName,
                    log_stream_name: LOG_STREAM_NAME,
                  },
                ]
              : []),
          ],
        },
      },
    },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * The recorder's configuration (root's, readable by the recorder running as the session user)
 * and its sink, created for the session user after the user exists (`defer`: the final stage).
 */
function recordingFiles(input: BastionUserDataInput): Record<string, string | boolean>[] {
  if (!input.recording) return [];
  const config = {
    sessionId: input.sessionId,
    sink: RECORDING_SINK_PATH,
    recordInput: input.recording.recordInput,
    ...(input.recording.idleSeconds ? { idleSeconds: input.recording.idleSeconds } : {}),
  };
  const owner = `${input.linuxUser}:${input.linuxUser}`;
  return [
    {
      path: RECORDING_CONFIG_PATH,
      owner: 'root:root',
      permissions: '0644',
      content: `${JSON.stringify(config)}\n`,
    },
    { path: RECORDING_SINK_PATH, owner, permissions: '0600', content: '', defer: true },
    { path: `${RECORDING_SINK_PATH}.head`, owner, permissions: '0600', content: '', defer: true },
  ];
}

/**
 * The bastion's cloud-config. Everything is serialized by the YAML library, and every command
 * is an argument array (cloud-init quotes each element), so no value is ever interpreted by a
 * shell. Inputs are validated anyway and anything unexpected throws.
 */
export function buildBastionUserData(input: BastionUserDataInput): string {
  validate(input);
  const document = {
    // bootcmd runs at boot before users, keys or packages exist: the self-destruct is armed
    // before any access is possible and is not delayed by the package install (minutes).
    bootcmd: [['shutdown', '-h', `+${input.selfDestructMinutes}`]],
    // Listing only this user (no `default`) keeps ec2-user from being created at all.
    users: [
      {
        name: input.linuxUser,
        lock_passwd: true,
        shell: input.access === 'shell' ? '/bin/bash' : '/sbin/nologin',
        ssh_authorized_keys: [input.authorizedKey],
      },
    ],
    ssh_pwauth: false,
    disable_root: true,
    // AL2023 minimal logs to journald only; rsyslog writes /var/log/secure for the agent.
    packages: ['amazon-cloudwatch-agent', 'rsyslog', 'nftables'],
    write_files: [
      {
        path: IMDS_GUARD_PATH,
        owner: 'root:root',
        permissions: '0600',
        content: IMDS_GUARD,
      },
      {
        path: BANNER_PATH,
        owner: 'root:root',
        permissions: '0644',
        content: bannerFileContent(input.banner),
      },
      {
        path: SSHD_CONFIG_PATH,
        owner: 'root:root',
        permissions: '0600',
        content: sshdConfig(input),
      },
      {
        path: AGENT_CONFIG_PATH,
        owner: 'root:root',
        permissions: '0644',
        content: agentConfig(input),
      },
      ...recordingFiles(input),
    ],
    runcmd: [
      ['nft', '-f', IMDS_GUARD_PATH],
      ['systemctl', 'enable', '--now', 'rsyslog'],
      ['systemctl', 'restart', 'sshd'],
      [AGENT_CTL, '-a', 'fetch-config', '-m', 'ec2', '-s', '-c', `file:${AGENT_CONFIG_PATH}`],
    ],
  };
  return `#cloud-config\n${stringify(document, { lineWidth: 0 })}`;
}
