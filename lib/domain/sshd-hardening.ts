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
 * The sshd settings every Drawbridge bastion shares, ec2 and local alike: key-only login,
 * exactly one permitted forward, nothing else forwarded, verbose logging, strong algorithms.
 * Each bastion adds what is its own (listen address, users, sessions, keep-alive).
 */
export function hardenedSshdSettings(permitOpen: string): [string, string][] {
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
    ['Banner', 'none'],
    ['Ciphers', SSHD_CIPHERS.join(',')],
    ['MACs', SSHD_MACS.join(',')],
    ['KexAlgorithms', SSHD_KEX.join(',')],
  ];
}
