import { isIP } from 'node:net';
import type { Access } from '../domain/policy.ts';
import { SESSION_ID_PATTERN } from '../domain/session.ts';
import { hardenedSshdSettings } from '../domain/sshd-hardening.ts';

export interface SshdConfigInput {
  sessionId: string;
  /** an IP address: sshd binds exactly this address */
  listenHost: string;
  port: number;
  /** absolute paths, all inside the session directory */
  hostKeyPath: string;
  authorizedKeysPath: string;
  pidFilePath: string;
  /** the pre-login banner's file (bannerFileContent), written by the provider */
  bannerPath: string;
  /** the only account sshd lets in (locally: the OS user running Drawbridge) */
  allowUser: string;
  /** true when that account is root: then a key, and only a key, may log in as root */
  rootLogin: boolean;
  /** false only where sshd's own check would wrongly refuse a safe path (see sshd-provider) */
  strictModes: boolean;
  targetHost: string;
  targetPort: number;
  access: Access;
  /**
   * Recorded session: the recorder's command line (absolute paths only). sshd then forces it
   * on every session, allows a terminal and nothing else: no forward of any kind.
   */
  recorder?: string;
}

// sshd_config has no quoting we could rely on to neutralise a value, and `%` starts a token
// in AuthorizedKeysFile: so every value is held to a plain allowlist, and anything else stops
// the launch instead of being escaped.
const PATH = /^\/[A-Za-z0-9._/+-]{1,1000}$/;
// No `@`, `*`, `?`, `!` or `,`: in AllowUsers they would turn a name into a pattern.
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function unsafe(field: string): never {
  // The value itself stays out of the message: it may hold the very newline we refused.
  throw new Error(`unsafe ${field} for sshd_config`);
}

const isPort = (port: number): boolean => Number.isInteger(port) && port >= 1 && port <= 65535;

/** `host:port` as ListenAddress and PermitOpen want it; IPv6 addresses go in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function validate(input: SshdConfigInput): void {
  if (!SESSION_ID_PATTERN.test(input.sessionId)) unsafe('sessionId');
  if (isIP(input.listenHost) === 0) unsafe('listenHost');
  if (!isPort(input.port)) unsafe('port');
  for (const field of ['hostKeyPath', 'authorizedKeysPath', 'pidFilePath', 'bannerPath'] as const) {
    const path = input[field];
    if (!PATH.test(path) || path.split('/').includes('..')) unsafe(field);
  }
  if (!USER.test(input.allowUser)) unsafe('allowUser');
  if (typeof input.rootLogin !== 'boolean') unsafe('rootLogin');
  if (typeof input.strictModes !== 'boolean') unsafe('strictModes');
  if (isIP(input.targetHost) === 0 && !DNS_NAME.test(input.targetHost)) unsafe('targetHost');
  if (!isPort(input.targetPort)) unsafe('targetPort');
  if (input.access !== 'jump-only' && input.access !== 'shell') unsafe('access');
  if (input.recorder !== undefined) {
    const parts = input.recorder.split(' ');
    if (!parts.every((part) => PATH.test(part) || /^(?:-[A-Za-z]|--[a-z-]{1,30})$/.test(part)))
      unsafe('recorder');
    if (parts.some((part) => part.split('/').includes('..'))) unsafe('recorder');
  }
}

/**
 * The complete sshd_config of one local session's sshd: nothing is read from
 * /etc/ssh/sshd_config (sshd gets this file with -f), so every default that matters is spelled
 * out. Hardened like the ec2 bastion: key-only, one user, one permitted forward.
 */
export function buildSshdConfig(input: SshdConfigInput): string {
  validate(input);
  const jumpOnly = input.access === 'jump-only';
  const recorded = input.recorder !== undefined;
  // sshd takes the first value of a keyword: a recorded bastion's own values replace the shared
  // forwarding lines instead of following them.
  const shared = hardenedSshdSettings(
    hostPort(input.targetHost, input.targetPort),
    input.bannerPath,
  ).map(([key, value]): [string, string] =>
    recorded && key === 'AllowTcpForwarding'
      ? [key, 'no']
      : recorded && key === 'PermitOpen'
        ? [key, 'none']
        : [key, value],
  );
  const settings: [string, string][] = [
    ['ListenAddress', hostPort(input.listenHost, input.port)],
    ['HostKey', input.hostKeyPath],
    ['PidFile', input.pidFilePath],
    ['AuthorizedKeysFile', input.authorizedKeysPath],
    ['StrictModes', input.strictModes ? 'yes' : 'no'],
    ['AllowUsers', input.allowUser],
    // Locally the session cannot have a Linux user of its own, so it logs in as whoever runs
    // Drawbridge; in CI that is root. A key-only root login is then the only way in, and the
    // key's own options (restrict, permitopen, from, expiry-time) still bound what it can do.
    ['PermitRootLogin', input.rootLogin ? 'prohibit-password' : 'no'],
    ...shared,
    ...(recorded
      ? ([
          ['DisableForwarding', 'yes'],
          ['ForceCommand', input.recorder ?? '/bin/false'],
        ] as [string, string][])
      : []),
    ['PermitListen', 'none'],
    ['PermitUserRC', 'no'],
    // sshd runs a command (the recorder, `ssh host cmd`) through the OS user's shell, and
    // Debian's bash then reads that user's ~/.bashrc first, unless it is not the first shell
    // level: the forced command starts without the user's rc files (it owes them nothing, and
    // an rc file must not run before the recorder), while the interactive shell the recorder
    // starts reads them as usual.
    ['SetEnv', 'SHLVL=1'],
    ['PermitTTY', jumpOnly ? 'no' : 'yes'],
    // `ssh -J`, `-W` and `-L` ride direct-tcpip channels and never open a session, so a
    // jump-only bastion allows no session at all (MaxSessions 0: sshd then starts no shell,
    // not even for a forced command), and the forced command that does nothing stays as a
    // second lock should a session ever get through.
    ...(jumpOnly ? ([['ForceCommand', '/bin/false']] as [string, string][]) : []),
    ['MaxSessions', jumpOnly ? '0' : '2'],
    ['ClientAliveInterval', '15'],
    ['ClientAliveCountMax', '2'],
    // No PAM: the key is the whole of authentication, and PAM's session modules would touch
    // the machine (lastlog, motd, limits) for what is only a forward.
    ['UsePAM', 'no'],
    ['PrintMotd', 'no'],
    ['PrintLastLog', 'no'],
    // No Subsystem line at all: sshd has none built in, so sftp and friends do not exist here.
  ];
  return [
    `# Drawbridge local session ${input.sessionId}: generated, not to be edited.`,
    ...settings.map(([key, value]) => `${key} ${value}`),
    '',
  ].join('\n');
}
