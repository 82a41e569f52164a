/**
 * The strong-only algorithm lists every Drawbridge bastion's sshd uses (the ec2 bastion's
 * cloud-config and the local sshd alike), limited to names OpenSSH 8.7 (the AL2023 build)
 * knows, because an unknown name stops sshd from starting.
 */
export const SSHD_CIPHERS = [
  'chacha20-poly1305@openssh.com',
  'aes256-gcm@openssh.com',
  'aes128-gcm@openssh.com',
  'aes256-ctr',
  'aes192-ctr',
  'aes128-ctr',
] as const;

export const SSHD_MACS = [
  'hmac-sha2-512-etm@openssh.com',
  'hmac-sha2-256-etm@openssh.com',
  'umac-128-etm@openssh.com',
] as const;

export const SSHD_KEX = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group-exchange-sha256',
] as const;

/**
 * The legal notice sshd shows before authentication (CIS: a banner, never `Banner none`). A
 * policy sets it for every target (`banner:`) and a target may set its own.
 */
export const DEFAULT_BANNER = [
  'Authorized use only. This system is the property of its operator.',
  'Every connection and every action is logged and may be monitored and recorded.',
  'Unauthorized access is prohibited and may be prosecuted; disconnect now if you are not authorized.',
  '',
].join('\n');

export const MAX_BANNER_LENGTH = 2048;

/**
 * Why `text` cannot be a banner, or undefined when it can: printable ASCII and line feeds only
 * (a control character could rewrite the client's terminal), at most MAX_BANNER_LENGTH
 * characters, and not blank. The text goes into its own file, never into sshd_config or a shell.
 */
export function bannerProblem(text: string): string | undefined {
  if (text.length > MAX_BANNER_LENGTH) return `at most ${MAX_BANNER_LENGTH} characters`;
  if (!/^[\x20-\x7e\n]*$/.test(text)) return 'printable ASCII and line breaks only';
  if (text.trim() === '') return 'must not be blank';
  return undefined;
}

/** The banner file's content: always ends with a line break, as terminals expect. */
export const bannerFileContent = (text: string): string =>
  text.endsWith('\n') ? text : `${text}\n`;

/**
 * The sshd settings every Drawbridge bastion shares, ec2 and local alike: key-only login,
 * exactly one permitted forward, nothing else forwarded, verbose logging, strong algorithms.
 * Each bastion adds what is its own (listen address, users, sessions, keep-alive) and writes
 * the banner file (bannerFileContent) that `bannerPath` names.
 */
export function hardenedSshdSettings(permitOpen: string, bannerPath: string): [string, string][] {
  return [
    ['PasswordAuthentication', 'no'],
    ['KbdInteractiveAuthentication', 'no'],
    ['PermitEmptyPasswords', 'no'],
    ['HostbasedAuthentication', 'no'],
    ['IgnoreRhosts', 'yes'],
    ['PubkeyAuthentication', 'yes'],
    ['AuthenticationMethods', 'publickey'],
    ['AllowTcpForwarding', 'local'],
    ['PermitOpen', permitOpen],
    ['AllowAgentForwarding', 'no'],
    ['AllowStreamLocalForwarding', 'no'],
    ['X11Forwarding', 'no'],
    ['PermitTunnel', 'no'],
    ['GatewayPorts', 'no'],
    ['PermitUserEnvironment', 'no'],
    ['MaxAuthTries', '3'],
    ['MaxStartups', '10:30:60'],
    ['LoginGraceTime', '30'],
    ['LogLevel', 'VERBOSE'],
    ['Banner', bannerPath],
    ['Ciphers', SSHD_CIPHERS.join(',')],
    ['MACs', SSHD_MACS.join(',')],
    ['KexAlgorithms', SSHD_KEX.join(',')],
  ];
}
