import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface ClientKey {
  privateKeyPath: string;
  /** `ssh-ed25519 AAAA…`, as parsePublicKey normalizes it */
  publicKey: string;
}

/** A real client key pair made by ssh-keygen, as an engineer would have one. */
export async function makeClientKey(dir: string, name = 'id_ed25519'): Promise<ClientKey> {
  const privateKeyPath = join(dir, name);
  await execFileAsync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'test',
    '-f',
    privateKeyPath,
  ]);
  const [type, blob] = (await readFile(`${privateKeyPath}.pub`, 'utf8')).trim().split(' ');
  return { privateKeyPath, publicKey: `${type} ${blob}` };
}

export interface EchoServer {
  host: string;
  port: number;
  /** connections open right now, as the target sees them */
  openConnections(): number;
  /** resolves once the target has no open connection */
  drained(): Promise<void>;
  close(): Promise<void>;
}

/** The private target: a TCP server that sends back whatever it receives. */
export async function startEchoServer(host = '127.0.0.1'): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  let waiters: (() => void)[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) {
        for (const wake of waiters) wake();
        waiters = [];
      }
    });
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host,
    port,
    openConnections: () => sockets.size,
    drained: () =>
      sockets.size === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve)),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface ForwardOptions {
  bastionHost: string;
  bastionPort: number;
  user: string;
  privateKeyPath: string;
  targetHost: string;
  targetPort: number;
  /** the client's source address (`ssh -b`) */
  bindAddress?: string;
}

/**
 * What `ssh -J user@bastion target` does for its first hop: `ssh -W host:port` asks the bastion
 * for one direct-tcpip channel and joins it to stdin/stdout. Non-interactive and with a
 * throwaway known-hosts file, so a refusal shows as an exit instead of a prompt.
 */
const TRUST_ANY_HOST = [
  'StrictHostKeyChecking=no',
  'UserKnownHostsFile=/dev/null',
  'GlobalKnownHostsFile=/dev/null',
];
const CLIENT_OPTIONS = [
  'BatchMode=yes',
  'IdentitiesOnly=yes',
  'IdentityAgent=none',
  'ConnectTimeout=5',
  'LogLevel=ERROR',
].flatMap((option) => ['-o', option]);

/**
 * ssh options for a non-interactive client that uses only the given key and no config. With a
 * known-hosts file it trusts only the host key pinned there (as the CLI's lines do).
 */
export function clientArgs(
  privateKeyPath: string,
  port: number,
  knownHostsFile?: string,
): string[] {
  const hostKeys = knownHostsFile
    ? [
        'StrictHostKeyChecking=yes',
        `UserKnownHostsFile=${knownHostsFile}`,
        'GlobalKnownHostsFile=/dev/null',
      ].flatMap((option) => ['-o', option])
    : TRUST_ANY_HOST.flatMap((option) => ['-o', option]);
  return [
    ...hostKeys,
    ...CLIENT_OPTIONS,
    '-F',
    '/dev/null',
    '-i',
    privateKeyPath,
    '-p',
    String(port),
  ];
}

export function forwardArgs(options: ForwardOptions): string[] {
  const host = options.targetHost.includes(':') ? `[${options.targetHost}]` : options.targetHost;
  return [
    ...clientArgs(options.privateKeyPath, options.bastionPort),
    ...(options.bindAddress ? ['-b', options.bindAddress] : []),
    '-W',
    `${host}:${options.targetPort}`,
    `${options.user}@${options.bastionHost}`,
  ];
}

export interface Forward {
  child: ChildProcessWithoutNullStreams;
  /** sends text through the tunnel and resolves with what comes back first containing it */
  roundTrip(text: string): Promise<string>;
  /** resolves with the exit code when the ssh client ends */
  exited: Promise<number | null>;
  stderr(): string;
  close(): Promise<number | null>;
}

export function openForward(options: ForwardOptions): Forward {
  const child = spawn('ssh', forwardArgs(options), { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  let listeners: (() => void)[] = [];
  const notify = (): void => {
    for (const listener of listeners) listener();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      notify();
      resolve(code);
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });

  const roundTrip = (text: string): Promise<string> => {
    const start = stdout.length;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const received = stdout.slice(start);
        if (received.includes(text)) {
          listeners = listeners.filter((listener) => listener !== check);
          resolve(received);
        } else if (done || child.exitCode !== null) {
          listeners = listeners.filter((listener) => listener !== check);
          reject(new Error(`ssh ended before the echo came back: ${stderr.trim()}`));
        }
      };
      listeners.push(check);
      child.stdin.write(text);
      check();
    });
  };

  return {
    child,
    roundTrip,
    exited,
    stderr: () => stderr,
    close: () => {
      child.stdin.end();
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export type EchoOutcome =
  | { ok: true; echoed: string }
  | { ok: false; code: number | null; stderr: string };

/** One connection through the bastion to the target: did the echo come back? */
export async function echoThroughBastion(
  options: ForwardOptions,
  text = 'ping\n',
): Promise<EchoOutcome> {
  const forward = openForward(options);
  try {
    const echoed = await forward.roundTrip(text);
    return { ok: true, echoed };
  } catch {
    return { ok: false, code: await forward.exited, stderr: forward.stderr() };
  } finally {
    await forward.close();
  }
}

/** The host key fingerprint the server at host:port presents, as ssh-keygen -l prints it. */
export async function scanHostKeyFingerprint(host: string, port: number): Promise<string> {
  const { stdout } = await execFileAsync('ssh-keyscan', [
    '-t',
    'ed25519',
    '-p',
    String(port),
    host,
  ]);
  const line = stdout.split('\n').find((entry) => entry.includes('ssh-ed25519'));
  if (!line) throw new Error('ssh-keyscan saw no ed25519 host key');
  const child = spawn('ssh-keygen', ['-l', '-f', '-']);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stdin.end(`${line}\n`);
  await new Promise((resolve) => child.once('close', resolve));
  const fingerprint = output.split(' ')[1];
  if (!fingerprint?.startsWith('SHA256:'))
    throw new Error(`unexpected ssh-keygen output: ${output}`);
  return fingerprint;
}
