import { isIP } from 'node:net';
import { RECORDER_COMMAND, RECORDER_PATH } from '../domain/authorized-key.ts';
import type { IssuedHostKey } from '../domain/host-key.ts';
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
  /**
   * When the bastion powers off (and so terminates) whatever else happens, epoch ms: an
   * absolute time, so a launch that boots late (retried, resumed) can never run past it.
   */
  selfDestructAt: number;
  /** the sshd host key Drawbridge issued for this session (ssh-ed25519) */
  hostKey: IssuedHostKey;
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
 * The recorder's sink: root's file, for root alone (the recorder runs as root through sudo and
 * refuses a sink anyone else could write), which root's CloudWatch agent ships line by line to
 * the instance's stream. The session user can neither read it nor append to its chain. The
 * recorder flushes a chunk at most every second and the agent every force_flush_interval (5 s):
 * a bastion killed mid-session loses at most the last ~6 seconds.
 */
export const RECORDING_SINK_PATH = '/var/lib/drawbridge/recording.jsonl';
/** The one sudo rule of a recorded bastion: the session user may start the recorder as root. */
export const RECORDER_SUDOERS_PATH = '/etc/sudoers.d/drawbridge-recorder';

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

const EARLIEST = Date.UTC(2020, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);
const HOST_PUBLIC_KEY = /^ssh-ed25519 [A-Za-z0-9+/]{68}$/;
const HOST_PRIVATE_KEY =
  /^-----BEGIN OPENSSH PRIVATE KEY-----\n(?:[A-Za-z0-9+/=]{1,70}\n){1,20}-----END OPENSSH PRIVATE KEY-----\n$/;

export const HOST_KEY_PATH = '/etc/ssh/ssh_host_ed25519_key';

/**
 * Layer 4, armed in bootcmd before any user or key exists: the minutes left until the absolute
 * self-destruct time ($1, epoch seconds), rounded up; at once if it has already passed. A fixed
 * script: the only value is the validated integer passed as its argument, never shell text.
 */
export const SELF_DESTRUCT_SCRIPT =
  'left=$(( ($1 - $(date +%s) + 59) / 60 )); if [ "$left" -lt 1 ]; then exec shutdown -h now; fi; exec shutdown -h "+$left"';

/**
 * The readiness proof, run last: checks the config, reloads sshd, waits until sshd serves the
 * host key Drawbridge issued (read back from sshd itself with ssh-keyscan, not from the file),
 * and logs `drawbridge-ready session=<id> hostkey=SHA256:…` to authpriv, which rsyslog writes
 * to /var/log/secure and the agent ships to the instance's own stream. $1 is the session id.
 */
export const READINESS_SCRIPT = [
  'set -eu',
  'sshd -t',
  // A sudoers file sudo cannot parse stops sudo altogether: recorded access would be refused.
  'visudo -cq',
  'systemctl reload sshd',
  `want=$(ssh-keygen -lf ${HOST_KEY_PATH}.pub | cut -d' ' -f2)`,
  'for i in $(seq 1 100); do',
  '  got=$(ssh-keyscan -t ed25519 127.0.0.1 2>/dev/null | ssh-keygen -lf - 2>/dev/null | cut -d" " -f2 || true)',
  '  if [ "$got" = "$want" ]; then',
  '    logger -p authpriv.notice -t drawbridge-ready "drawbridge-ready session=$1 hostkey=$got"',
  '    exit 0',
  '  fi',
  '  sleep 0.2',
  'done',
  'exit 1',
].join('\n');

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
    !Number.isSafeInteger(input.selfDestructAt) ||
    input.selfDestructAt < EARLIEST ||
    input.selfDestructAt > LATEST
  ) {
    unsafe('selfDestructAt');
  }
  if (
    !HOST_PUBLIC_KEY.test(input.hostKey?.publicKey ?? '') ||
    !HOST_PRIVATE_KEY.test(input.hostKey?.privateKey ?? '')
  ) {
    unsafe('hostKey');
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
    // Only the key Drawbridge issued: no other host key is offered, so none can be trusted.
    ['HostKey', HOST_KEY_PATH],
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
 * The session user may run the recorder as root, with no arguments, and nothing else. sudo
 * keeps only what the recorder reads of the environment (the refused command, the client's
 * address) and, from sudo 1.9.14 on, would put the recorder behind a pty of its own, which
 * doubles the relay's work for nothing: `!use_pty`, the recorder's own pty is the session's.
 */
export function recorderSudoers(sessionId: string, linuxUser: string): string {
  return [
    `# Drawbridge session ${sessionId}: written at boot, not to be edited.`,
    `Defaults!${RECORDER_PATH} !use_pty, env_keep += "SSH_ORIGINAL_COMMAND SSH_CONNECTION SSH_CLIENT"`,
    `${linuxUser} ALL=(root) NOPASSWD: ${RECORDER_PATH} ""`,
    '',
  ].join('\n');
}

/**
 * The recorder's configuration, its sink and the sink's head (all root's alone: the recorder
 * runs as root), and the sudo rule that lets the session user start it.
 */
function recordingFiles(input: BastionUserDataInput): Record<string, string | boolean>[] {
  if (!input.recording) return [];
  const config = {
    sessionId: input.sessionId,
    sink: RECORDING_SINK_PATH,
    recordInput: input.recording.recordInput,
    ...(input.recording.idleSeconds ? { idleSeconds: input.recording.idleSeconds } : {}),
  };
  const root = { owner: 'root:root', permissions: '0600' };
  return [
    { path: RECORDING_CONFIG_PATH, ...root, content: `${JSON.stringify(config)}\n` },
    { path: RECORDING_SINK_PATH, ...root, content: '' },
    { path: `${RECORDING_SINK_PATH}.head`, ...root, content: '' },
    {
      path: RECORDER_SUDOERS_PATH,
      owner: 'root:root',
      permissions: '0440',
      content: recorderSudoers(input.sessionId, input.linuxUser),
    },
  ];
}

// Code points a YAML 1.1 reader refuses raw (DEL, C1 controls, U+FFFE/U+FFFF) or reads as a
// line break (NEL U+0085, U+2028, U+2029), and the rest of the BMP beyond ASCII with them.
// Astral characters stay raw: PyYAML decodes a \uD83D\uDE00 pair as two lone surrogates.
const BEYOND_ASCII = /[\u007f-\ud7ff\ue000-\uffff]/g;

/**
 * A `#cloud-config` user data document, written as JSON. cloud-init reads cloud-config with a
 * YAML loader (PyYAML's safe_load), and JSON is YAML: flow collections, every string double
 * quoted with JSON's escapes, all of which YAML 1.1 reads the same. So no YAML serializer ships
 * with the functions (the package alone is ≈115 KB of bundle and ≈25 ms of init).
 */
export function cloudConfig(document: Record<string, unknown>): string {
  const json = JSON.stringify(document).replace(
    BEYOND_ASCII,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `#cloud-config\n${json}\n`;
}

/**
 * The bastion's cloud-config. Everything is serialized by JSON.stringify, and every command
 * is an argument array (cloud-init quotes each element), so no value is ever interpreted by a
 * shell. Inputs are validated anyway and anything unexpected throws.
 */
export function buildBastionUserData(input: BastionUserDataInput): string {
  validate(input);
  const document = {
    // bootcmd runs at boot before users or keys exist: the self-destruct is armed before any
    // access is possible. Everything else a bastion needs is baked in the image (no packages,
    // no fetches): the user data carries only the session.
    bootcmd: [
      [
        'sh',
        '-c',
        SELF_DESTRUCT_SCRIPT,
        'drawbridge-self-destruct',
        String(Math.floor(input.selfDestructAt / 1000)),
      ],
    ],
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
    // The host key Drawbridge issued, written by cloud-init's ssh module in place of any the
    // image holds; nothing is generated on the host, so the key is known before anyone connects.
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: {
      ed25519_private: input.hostKey.privateKey,
      ed25519_public: input.hostKey.publicKey,
    },
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
      [AGENT_CTL, '-a', 'fetch-config', '-m', 'ec2', '-s', '-c', `file:${AGENT_CONFIG_PATH}`],
      // Last: sshd is proven serving only once everything above holds, logging included.
      ['sh', '-c', READINESS_SCRIPT, 'drawbridge-ready', input.sessionId],
    ],
  };
  return cloudConfig(document);
}
