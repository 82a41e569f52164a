// The ~/.ssh/config block of a bastion session, built in one place for the API's connection
// view and for the CLI, which builds its own from the fields it has checked rather than print
// the API's text: a pasted block is code on the engineer's machine (ProxyCommand, LocalCommand,
// Include, a second Host...), so nothing but these lines, with these values, can come out.

import { SshConfigValueError } from './errors.ts';

/** A Linux user name: what a bastion's session user is. */
export const SSH_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
/** A DNS name or an IPv4/IPv6 address; never a leading '-' (ssh would read an option). */
export const SSH_HOST = /^[A-Za-z0-9_:][A-Za-z0-9_.:-]{0,252}$/;
/** A Host alias: no pattern characters (*, ?, !), no space, nothing ssh would split. */
const ALIAS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// Control characters and the quote: a path is one line and one quoted word.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const UNSAFE_PATH = /[\u0000-\u001f\u007f"]/;

export interface SshConfigBlock {
  /** `drawbridge-<target>` */
  alias: string;
  host: string;
  port: number;
  user: string;
  /** the session's private key, when the CLI has it */
  identityFile?: string | undefined;
  /** the file the bastion's pinned host key is read from */
  knownHostsFile?: string | undefined;
  /** a recorded session's shell (a terminal, as `ssh -tt`), or a tunnel's local forward */
  use: { shell: true } | { forward: { localPort: number; host: string; port: number } };
}

const port = (value: number, what: string): number => {
  if (!Number.isInteger(value) || value < 1 || value > 65_535)
    throw new SshConfigValueError(`${what} is not a port`);
  return value;
};

const host = (value: string, what: string): string => {
  if (!SSH_HOST.test(value)) throw new SshConfigValueError(`${what} is not a host name or address`);
  return value;
};

/** In LocalForward an IPv6 address is bracketed (its colons would end the host); HostName takes it bare. */
const forwardHost = (value: string, what: string): string => {
  const checked = host(value, what);
  return checked.includes(':') ? `[${checked}]` : checked;
};

/** One word: quoted if it has a space; % doubled, since ssh expands %-tokens in these paths. */
const path = (value: string, what: string): string => {
  if (value === '' || UNSAFE_PATH.test(value))
    throw new SshConfigValueError(`${what} is not a file path`);
  const escaped = value.replaceAll('%', '%%');
  return /\s/.test(escaped) ? `"${escaped}"` : escaped;
};

/**
 * The block, ending in a newline. Throws SshConfigValueError for any value that is not what
 * its line expects, so no value can end a line or start another directive.
 */
export function sshConfigBlock(block: SshConfigBlock): string {
  if (!ALIAS.test(block.alias)) throw new SshConfigValueError('the alias is not a plain name');
  if (!SSH_USER.test(block.user)) throw new SshConfigValueError('the user is not a user name');
  const lines = [
    `Host ${block.alias}`,
    `  HostName ${host(block.host, 'the bastion')}`,
    `  Port ${port(block.port, "the bastion's port")}`,
    `  User ${block.user}`,
    ...(block.identityFile !== undefined
      ? [`  IdentityFile ${path(block.identityFile, 'the identity file')}`]
      : []),
    '  IdentitiesOnly yes',
    // The host key is known in advance: a bastion showing another is refused, never trusted.
    '  StrictHostKeyChecking yes',
    ...(block.knownHostsFile !== undefined
      ? [`  UserKnownHostsFile ${path(block.knownHostsFile, 'the known_hosts file')}`]
      : []),
    ...('shell' in block.use
      ? // force, as -tt: the recorder refuses a session without a terminal.
        ['  RequestTTY force']
      : [
          `  LocalForward 127.0.0.1:${port(block.use.forward.localPort, 'the local port')} ${forwardHost(block.use.forward.host, 'the target')}:${port(block.use.forward.port, "the target's port")}`,
          '  SessionType none',
        ]),
  ];
  return `${lines.join('\n')}\n`;
}
