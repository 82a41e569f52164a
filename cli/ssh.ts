import { execFile } from 'node:child_process';
import {
  access,
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SESSION_ID_PATTERN } from '../lib/domain/session.ts';
import { shellQuote } from '../lib/domain/shell-quote.ts';
import { sshConfigBlock } from '../lib/domain/ssh-config.ts';
import type { Connection } from './api-client.ts';
import { CliError, ExitCode, UsageError } from './errors.ts';
import type { Tool } from './io.ts';

const execFileAsync = promisify(execFile);

const KEY_NAME = 'id_ed25519';

export const SSH_CLIENT: Tool = {
  name: 'ssh',
  missing: 'ssh not found: install the OpenSSH client',
};

/** The key pair a session is opened with, and where its bastion's host key is remembered. */
export interface SessionKey {
  /** the private key, when it is on this machine (always, for a key drawbridge made) */
  identityFile?: string;
  /** one line, `ssh-ed25519 AAAA… comment`: the only part that is ever sent */
  publicKey: string;
  /** drawbridge's own directory for this key; absent for a key given with --key */
  dir?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function privateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask and ignored for a directory that already exists.
  await chmod(path, 0o700);
}

/**
 * A fresh ed25519 pair in a private directory under keys/: the private key is made here and
 * stays here, only the .pub goes to the API. ssh-keygen gets an argument vector, never a
 * shell, and no passphrase because the key dies with the session.
 */
export async function generateSessionKey(keysDir: string, comment: string): Promise<SessionKey> {
  await privateDir(keysDir);
  const dir = await mkdtemp(join(keysDir, 'pending-'));
  await chmod(dir, 0o700);
  const identityFile = join(dir, KEY_NAME);
  try {
    await execFileAsync(
      'ssh-keygen',
      ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', identityFile],
      { timeout: 30_000 },
    );
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CliError(
      missing
        ? 'ssh-keygen not found: install the OpenSSH client, or pass --key with your own public key'
        : `ssh-keygen could not make a key: ${String((error as { stderr?: unknown }).stderr ?? '').trim() || (error as Error).message}`,
      ExitCode.unexpected,
      'ssh_keygen',
    );
  }
  await chmod(identityFile, 0o600);
  const publicKey = (await readFile(`${identityFile}.pub`, 'utf8')).trim();
  return { identityFile, publicKey, dir };
}

/** Once the API has named the session, its key directory takes the session's id. */
export async function adoptSessionKey(
  key: SessionKey,
  keysDir: string,
  sessionId: string,
): Promise<SessionKey> {
  if (!key.dir) return key;
  const dir = join(keysDir, sessionId);
  try {
    await rename(key.dir, dir);
  } catch {
    // An idempotent replay already adopted a key for this id; keep ours where it is.
    return key;
  }
  return { ...key, dir, identityFile: join(dir, KEY_NAME) };
}

/** The key drawbridge made for a session earlier, if this machine has it. */
export async function findSessionKey(
  keysDir: string,
  sessionId: string,
): Promise<string | undefined> {
  const identityFile = join(keysDir, sessionId, KEY_NAME);
  return (await exists(identityFile)) ? identityFile : undefined;
}

export async function discardKey(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/**
 * --key: the engineer's own key. Given `x` or `x.pub`, the .pub is read and sent; the private
 * half, if it sits next to it, is only used locally for `-i`.
 */
export async function userKey(path: string): Promise<SessionKey> {
  const publicPath = path.endsWith('.pub') ? path : `${path}.pub`;
  const privatePath = path.endsWith('.pub') ? path.slice(0, -4) : path;
  let text: string;
  try {
    text = await readFile(publicPath, 'utf8');
  } catch {
    if (!path.endsWith('.pub') && (await exists(path))) {
      // Refuse before reading: whatever this file is, it must not be sent.
      throw new UsageError(`--key: ${publicPath} not found; pass the public key (.pub)`);
    }
    throw new UsageError(`--key: cannot read ${publicPath}`);
  }
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  if (line.includes('PRIVATE KEY')) {
    throw new UsageError(`--key: ${publicPath} is a private key; pass the public key (.pub)`);
  }
  if (!/^(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ [A-Za-z0-9+/]+=*( .*)?$/.test(line)) {
    throw new UsageError(`--key: ${publicPath} is not an OpenSSH public key`);
  }
  return {
    publicKey: line,
    ...((await exists(privatePath)) && privatePath !== publicPath
      ? { identityFile: privatePath }
      : {}),
  };
}

const LOCAL_PORT_FILE = 'local-port';
const EXPIRES_FILE = 'expires-at';
/** A key directory open left behind when it crashed between ssh-keygen and the API's answer. */
const PENDING_MAX_AGE_MS = 24 * 60 * 60_000;
/** A session's key outlives its window by this much: time for a late show or events. */
const KEY_GRACE_MS = 60_000;

/** When the session's window ends, kept beside its key so any later run can throw it away. */
export async function rememberExpiry(dir: string | undefined, expiresAt: string | undefined) {
  if (dir && expiresAt && !Number.isNaN(Date.parse(expiresAt))) {
    await writeFile(join(dir, EXPIRES_FILE), `${expiresAt}\n`, { mode: 0o600 });
  }
}

/** Moves a session's recorded end (after extend), if this machine has its key. */
export async function updateExpiry(keysDir: string, sessionId: string, expiresAt: string) {
  if (await exists(join(keysDir, sessionId))) {
    await rememberExpiry(join(keysDir, sessionId), expiresAt);
  }
}

/**
 * Private keys of sessions whose window is over, whether or not `drawbridge end` was run:
 * every run of the CLI removes them, and half-made ones open left behind.
 */
export async function sweepKeys(keysDir: string, now: number): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(keysDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = join(keysDir, name);
    let stale = false;
    if (name.startsWith('pending-')) {
      const made = (await stat(dir).catch(() => undefined))?.mtimeMs;
      stale = made !== undefined && now - made > PENDING_MAX_AGE_MS;
    } else if (SESSION_ID_PATTERN.test(name)) {
      const text = await readFile(join(dir, EXPIRES_FILE), 'utf8').catch(() => '');
      const end = Date.parse(text.trim());
      stale = !Number.isNaN(end) && now > end + KEY_GRACE_MS;
    }
    if (stale) {
      await rm(dir, { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}

/** The local end open chose for the session's forward, kept beside its key for show. */
export async function rememberLocalPort(dir: string | undefined, port: number): Promise<void> {
  if (dir) await writeFile(join(dir, LOCAL_PORT_FILE), `${port}\n`, { mode: 0o600 });
}

export async function rememberedLocalPort(
  keysDir: string,
  sessionId: string,
): Promise<number | undefined> {
  try {
    const text = (await readFile(join(keysDir, sessionId, LOCAL_PORT_FILE), 'utf8')).trim();
    const port = Number(text);
    return /^\d{1,5}$/.test(text) && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
}

const bracketed = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** ssh reads a quoted option value as one word; a path with a space would otherwise split. */
const optionPath = (path: string): string => (/\s/.test(path) ? `"${path}"` : path);

export interface BastionAuth {
  identityFile?: string | undefined;
  /** per-session known_hosts: bastions are fresh, and a reused address must not look like an attack */
  knownHostsFile?: string | undefined;
}

function bastionOptions(auth: BastionAuth): string[] {
  return [
    ...(auth.identityFile ? ['-i', auth.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    '-o',
    // The host key is known in advance (the API's knownHosts line, written by pinHostKey):
    // a bastion showing any other key is refused, never trusted on first use.
    'StrictHostKeyChecking=yes',
    ...(auth.knownHostsFile ? ['-o', `UserKnownHostsFile=${optionPath(auth.knownHostsFile)}`] : []),
  ];
}

/** `ssh … -N -L 127.0.0.1:<local>:<target>:<port> -p <bastion port> user@bastion` */
export function forwardArgs(
  connection: Connection,
  localPort: number,
  auth: BastionAuth,
): string[] {
  const { bastion, target } = connection;
  return [
    ...bastionOptions(auth),
    '-N',
    '-L',
    `127.0.0.1:${localPort}:${bracketed(target.host)}:${target.port}`,
    '-p',
    String(bastion.port),
    `${bastion.user}@${bastion.host}`,
  ];
}

/** `ssh … -W target:port user@bastion`: stdin and stdout carried to the target itself. */
export function stdioArgs(connection: Connection, auth: BastionAuth): string[] {
  const { bastion, target } = connection;
  return [
    ...bastionOptions(auth),
    '-W',
    `${bracketed(target.host)}:${target.port}`,
    '-p',
    String(bastion.port),
    `${bastion.user}@${bastion.host}`,
  ];
}

/**
 * `ssh -tt … user@bastion`: the shell of a recorded session, the only thing its bastion allows
 * (the recorder refuses a session without a terminal; -tt asks for one even when stdin is not).
 */
export function shellArgs(connection: Connection, auth: BastionAuth): string[] {
  const { bastion } = connection;
  return [
    '-tt',
    ...bastionOptions(auth),
    '-p',
    String(bastion.port),
    `${bastion.user}@${bastion.host}`,
  ];
}

/**
 * ssh through the bastion to an SSH target. Not `-J`: the ssh that -J starts for the first hop
 * receives neither -i nor -o options, so it would never offer the session key. A ProxyCommand
 * carries them. ssh runs a ProxyCommand with the user's shell and expands % in it, so each
 * word is quoted for the shell and a literal % is doubled.
 */
export function jumpArgs(connection: Connection, auth: BastionAuth): string[] {
  const { bastion, target } = connection;
  const firstHop = [
    'ssh',
    ...bastionOptions(auth),
    '-p',
    String(bastion.port),
    '-W',
    '[%h]:%p',
    `${bastion.user}@${bastion.host}`,
  ]
    .map((word) => shellQuote(word === '[%h]:%p' ? word : word.replaceAll('%', '%%')))
    .join(' ');
  return [
    '-o',
    `ProxyCommand=${firstHop}`,
    ...(target.port === 22 ? [] : ['-p', String(target.port)]),
    target.host,
  ];
}

/** The port the API suggested for the local end of the forward (in its sshForward line). */
export function suggestedLocalPort(connection: Connection): number {
  const match = /-L\s+127\.0\.0\.1:(\d{1,5}):/.exec(connection.sshForward ?? '');
  const port = Number(match?.[1]);
  if (Number.isInteger(port) && port > 0 && port < 65536) return port;
  return connection.target.port < 1024 ? 10_000 + connection.target.port : connection.target.port;
}

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * The suggested local port if nothing listens on it here, else any free one: in local mode
 * the target itself often listens on this machine at exactly the suggested port.
 */
export async function chooseLocalPort(suggested: number): Promise<number> {
  return (await listenOn(suggested)) ?? (await listenOn(0)) ?? suggested;
}

/**
 * The ~/.ssh/config block, built here from the fields the CLI has checked (api-client.ts), with
 * the same builder the API uses: the API's own text is never printed, since a block with an
 * extra directive (ProxyCommand, LocalCommand, Include, another Host) pasted into
 * ~/.ssh/config would run code here.
 */
export function sshConfigSnippet(
  connection: Connection,
  alias: string,
  use: { shell: true } | { localPort: number },
  auth: BastionAuth,
): string {
  const { bastion, target } = connection;
  return sshConfigBlock({
    alias,
    host: bastion.host,
    port: bastion.port,
    user: bastion.user,
    identityFile: auth.identityFile,
    knownHostsFile: auth.knownHostsFile,
    use:
      'shell' in use
        ? use
        : { forward: { localPort: use.localPort, host: target.host, port: target.port } },
  });
}

/**
 * Writes the session's known_hosts: the one line the API gave, pinning the bastion to the host
 * key Drawbridge issued. Without it (an older API) the file stays empty and ssh, asked for
 * StrictHostKeyChecking=yes, refuses the bastion rather than trust it.
 */
export async function pinHostKey(connection: Connection, knownHostsFile: string): Promise<void> {
  await privateDir(join(knownHostsFile, '..'));
  const line = connection.knownHosts?.trim() ?? '';
  const safe = /^[!-~]+ ssh-ed25519 [A-Za-z0-9+/=]+$/.test(line) ? `${line}\n` : '';
  const staging = `${knownHostsFile}.tmp`;
  await writeFile(staging, safe, { mode: 0o600 });
  await rename(staging, knownHostsFile);
}

/**
 * Asks the bastion for its host key before ssh runs, so that a bastion showing another key
 * than the one Drawbridge issued is refused with a message that says so (ssh's own refusal,
 * which follows anyway, is a wall of text). Nothing is checked when the API named no key.
 */
export async function checkBastionHostKey(
  connection: Connection,
  sessionId: string,
): Promise<void> {
  const issued = connection.hostKey?.trim().split(/\s+/).slice(0, 2).join(' ');
  if (!issued) return;
  let served: string | undefined;
  try {
    const { stdout } = await execFileAsync(
      'ssh-keyscan',
      ['-t', 'ed25519', '-T', '5', '-p', String(connection.bastion.port), connection.bastion.host],
      { timeout: 10_000 },
    );
    served = stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .find((fields) => fields[1] === 'ssh-ed25519')
      ?.slice(1, 3)
      .join(' ');
  } catch {
    return; // no ssh-keyscan, or no answer: ssh itself still refuses any key but the pinned one
  }
  if (served !== undefined && served !== issued) {
    throw new CliError(
      `the bastion's host key is not the one Drawbridge issued for this session (expected ${connection.hostKeyFingerprint ?? issued}): refusing to connect. Someone may be intercepting the connection; end the session with: drawbridge end ${sessionId}`,
      ExitCode.sessionFailed,
      'host_key_mismatch',
    );
  }
}
