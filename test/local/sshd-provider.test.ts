import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProvisioningError } from '../../lib/domain/errors.ts';
import type { Access } from '../../lib/domain/policy.ts';
import type { Connection, Session } from '../../lib/domain/session.ts';
import { DEFAULT_BANNER } from '../../lib/domain/sshd-hardening.ts';
import { findSshd, SshdProvider } from '../../lib/local/sshd-provider.ts';
import type { LaunchPlan } from '../../lib/ports/provider.ts';
import { localLaunchPlan } from '../support/local-plan.ts';
import {
  type ClientKey,
  clientArgs,
  type EchoServer,
  echoThroughBastion,
  type ForwardOptions,
  forwardArgs,
  makeClientKey,
  openForward,
  scanHostKeyFingerprint,
  startEchoServer,
} from '../support/ssh.ts';

const sshdPath = findSshd();

/** Can the client take a second loopback address as its source (Linux: all of 127/8)? */
async function loopbackAliasWorks(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '127.0.0.2', () => server.close(() => resolve(true)));
  });
}
const hasLoopbackAlias = await loopbackAliasWorks();

let root: string;
let client: ClientKey;
let target: EchoServer;
let otherTarget: EchoServer;
const providers: SshdProvider[] = [];
const launched: { provider: SshdProvider; session: Session }[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-sshd-'));
  client = await makeClientKey(root);
  target = await startEchoServer();
  otherTarget = await startEchoServer();
});

afterEach(async () => {
  for (const { provider, session } of launched.splice(0)) await provider.release(session);
});

afterAll(async () => {
  await target.close();
  await otherTarget.close();
  await rm(root, { recursive: true, force: true });
});

function newProvider(
  options: {
    dataDir?: string;
    sshdPath?: string;
    logs?: string[];
    running?: string[];
    signal?: (pid: number, name: NodeJS.Signals) => void;
  } = {},
) {
  const provider = new SshdProvider({
    dataDir: options.dataDir ?? join(root, `data-${providers.length}`),
    sshdPath: options.sshdPath ?? sshdPath ?? '/usr/sbin/sshd',
    onLog: (_sessionId, line) => options.logs?.push(line),
    onBastionRunning: (sessionId) => options.running?.push(sessionId),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  providers.push(provider);
  return provider;
}

interface PlanOptions {
  sourceCidr?: string;
  expiresAt?: number;
  access?: Access;
}

function planFor(options: PlanOptions = {}): LaunchPlan {
  return localLaunchPlan({
    host: target.host,
    port: target.port,
    publicKey: client.publicKey,
    target: { access: options.access ?? 'jump-only' },
    sourceCidr: options.sourceCidr,
    expiresAt: options.expiresAt,
  });
}

async function launch(provider: SshdProvider, options: PlanOptions = {}) {
  const plan = planFor(options);
  const result = await provider.launch(plan);
  launched.push({ provider, session: plan.session });
  // Like an ec2 bastion, the connection comes from the running bastion, not from launch.
  const state = await provider.inspect(plan.session);
  if (state.state !== 'running') throw new Error(`the bastion is ${state.state}`);
  const connection: Connection = state.connection;
  return { plan, result, connection, session: plan.session };
}

function through(connection: Connection, overrides: Partial<ForwardOptions> = {}): ForwardOptions {
  return {
    bastionHost: connection.bastionHost,
    bastionPort: connection.bastionPort,
    user: connection.linuxUser,
    privateKeyPath: client.privateKeyPath,
    targetHost: target.host,
    targetPort: target.port,
    ...overrides,
  };
}

function acceptsTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function runRemote(connection: Connection, command: string) {
  const ssh = spawn('ssh', [
    ...clientArgs(client.privateKeyPath, connection.bastionPort),
    `${connection.linuxUser}@${connection.bastionHost}`,
    command,
  ]);
  let output = '';
  ssh.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    ssh.once('close', (code) => resolve({ code, output })),
  );
}

const sessionDir = (provider: SshdProvider, session: Session): string =>
  // biome-ignore lint/complexity/useLiteralKeys: reads the private path the provider was given
  join((provider as unknown as { sessionsDir: string })['sessionsDir'], session.id);

const logOf = (provider: SshdProvider, session: Session): Promise<string> =>
  readFile(join(sessionDir(provider, session), 'sshd.log'), 'utf8');

describe('SshdProvider with a real sshd and a real ssh client', () => {
  it('finds an installed sshd', () => {
    expect(sshdPath).toBeDefined();
  });

  it('forwards to the target through the bastion, as the OS user, with the host key it reports', async () => {
    const logs: string[] = [];
    const provider = newProvider({ logs });
    const { result, connection } = await launch(provider);

    expect(result.resources.pid).toBeGreaterThan(1);
    expect(connection.bastionHost).toBe('127.0.0.1');
    expect(connection.linuxUser).toBe(userInfo().username);
    expect(connection.hostKeyFingerprint).toBe(
      await scanHostKeyFingerprint(connection.bastionHost, connection.bastionPort),
    );

    const outcome = await echoThroughBastion(through(connection), 'hello bastion\n');
    expect(outcome).toEqual({ ok: true, echoed: 'hello bastion\n' });
  });

  it('logs the accepted publickey to sshd.log and to onLog', async () => {
    const logs: string[] = [];
    const provider = newProvider({ logs });
    const { connection, session } = await launch(provider);
    await echoThroughBastion(through(connection));
    await provider.release(session);

    const log = await logOf(provider, session);
    expect(log).toMatch(
      /Accepted publickey for \S+ from 127\.0\.0\.1 port \d+ ssh2: ED25519 SHA256:/,
    );
    expect(logs.some((line) => line.startsWith('Accepted publickey for'))).toBe(true);
  });

  it('refuses a forward to any other host:port than the permitted target', async () => {
    const provider = newProvider();
    const { connection, session } = await launch(provider);

    const other = await echoThroughBastion(through(connection, { targetPort: otherTarget.port }));
    const permitted = await echoThroughBastion(through(connection));
    expect(other).toMatchObject({
      ok: false,
      stderr: expect.stringContaining('forwarding failed'),
    });
    expect(permitted.ok).toBe(true);
    expect(otherTarget.openConnections()).toBe(0);
    expect(await logOf(provider, session)).toContain(
      `to connect to host 127.0.0.1 port ${otherTarget.port}, but the request was denied`,
    );
  });

  it('refuses a command on a jump-only bastion and runs one on a shell bastion', async () => {
    const provider = newProvider();
    const jump = await launch(provider);
    const shell = await launch(provider, { access: 'shell' });

    const onJump = await runRemote(jump.connection, 'echo shell-reached');
    const onShell = await runRemote(shell.connection, 'echo shell-reached');
    expect(onJump.output).not.toContain('shell-reached');
    expect(onJump.code).not.toBe(0);
    expect(onShell).toEqual({ code: 0, output: 'shell-reached\n' });
  });

  it("refuses a client outside the key's from= address", async () => {
    const provider = newProvider();
    const { connection, session } = await launch(provider, { sourceCidr: '127.0.0.2/32' });

    const outcome = await echoThroughBastion(through(connection));
    expect(outcome).toMatchObject({
      ok: false,
      stderr: expect.stringContaining('Permission denied'),
    });
    expect(target.openConnections()).toBe(0);
    expect(await logOf(provider, session)).toContain('not from a permitted host');
  });

  it.runIf(hasLoopbackAlias)(
    'admits a client from 127.0.0.2 only when from= names 127.0.0.2',
    async () => {
      const provider = newProvider();
      const wrong = await launch(provider, { sourceCidr: '127.0.0.1/32' });
      const right = await launch(provider, { sourceCidr: '127.0.0.2/32' });

      const refused = await echoThroughBastion(
        through(wrong.connection, { bindAddress: '127.0.0.2' }),
      );
      const accepted = await echoThroughBastion(
        through(right.connection, { bindAddress: '127.0.0.2' }),
      );
      expect(refused.ok).toBe(false);
      expect(accepted.ok).toBe(true);
    },
  );

  it('refuses a key whose expiry-time has passed', async () => {
    const provider = newProvider();
    const { connection, session } = await launch(provider, { expiresAt: Date.now() - 60_000 });

    const outcome = await echoThroughBastion(through(connection));
    expect(outcome).toMatchObject({
      ok: false,
      stderr: expect.stringContaining('Permission denied'),
    });
    const log = await logOf(provider, session);
    expect(log).toContain('Refused by key options');
    expect(log).not.toContain('Accepted publickey');
  });

  it('release kills sshd, closes the port and cuts an open forward', async () => {
    const provider = newProvider();
    const { connection, session, result } = await launch(provider);
    const forward = openForward(through(connection));
    expect(await forward.roundTrip('before\n')).toBe('before\n');
    expect(target.openConnections()).toBe(1);

    await provider.release(session);

    expect(await forward.exited).not.toBe(0);
    await target.drained();
    expect(await acceptsTcp(connection.bastionHost, connection.bastionPort)).toBe(false);
    expect(() => process.kill(result.resources.pid as number, 0)).toThrow();
    expect(await provider.inspect(session)).toEqual({ state: 'gone' });
    expect(await logOf(provider, session)).toContain('Accepted publickey');
    await expect(stat(join(sessionDir(provider, session), 'authorized_keys'))).rejects.toThrow();

    // Twice is the same as once.
    await expect(provider.release(session)).resolves.toBeUndefined();
  });

  it('inspect reports a running bastion with its connection', async () => {
    const provider = newProvider();
    const { connection, session } = await launch(provider);
    expect(await provider.inspect(session)).toEqual({ state: 'running', connection });
  });

  it('a second launch of the same session returns the sshd already running', async () => {
    const provider = newProvider();
    const { plan, result } = await launch(provider);
    const again = await provider.launch(plan);
    expect(again).toEqual(result);
    expect(await provider.listOwned()).toHaveLength(1);
  });

  it('listOwned finds a live sshd and not a released one; destroy ends it', async () => {
    const provider = newProvider();
    const live = await launch(provider);
    const released = await launch(provider);
    await provider.release(released.session);

    const owned = await provider.listOwned();
    expect(owned).toEqual([
      { kind: 'process', id: String(live.result.resources.pid), sessionId: live.session.id },
    ]);

    const [resource] = owned;
    expect(resource && (await provider.destroy(resource))).toBe('destroyed');
    expect(await provider.listOwned()).toEqual([]);
    expect(await acceptsTcp('127.0.0.1', live.connection.bastionPort)).toBe(false);
  });

  it('a pid file whose process is someone else is not taken for ours', async () => {
    const provider = newProvider();
    const { session } = await launch(provider);
    const pidFile = join(sessionDir(provider, session), 'pid');
    const record = JSON.parse(await readFile(pidFile, 'utf8')) as Record<string, unknown>;
    // This test process is alive but is not the session's sshd (a reused pid looks like this).
    await writeFile(pidFile, JSON.stringify({ ...record, pid: process.pid }));

    expect(await provider.listOwned()).toEqual([]);
    expect(await provider.inspect(session)).toEqual({ state: 'gone' });
    await writeFile(pidFile, JSON.stringify(record));
  });

  it("shows the policy's banner to a connecting client before login (CIS)", async () => {
    const provider = newProvider();
    const { connection, session } = await launch(provider);
    expect(await readFile(join(sessionDir(provider, session), 'banner'), 'utf8')).toBe(
      DEFAULT_BANNER,
    );
    // ssh prints a server's banner only at LogLevel INFO or above (the first -o wins)
    const ssh = spawn('ssh', ['-o', 'LogLevel=INFO', ...forwardArgs(through(connection))]);
    let stderr = '';
    ssh.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    ssh.stdin.end();
    await new Promise((resolve) => ssh.once('close', resolve));
    expect(stderr).toContain('Authorized use only.');
    await provider.release(session);
  });

  it('keeps StrictModes on when no directory above the key is writable by others', async () => {
    const dataDir = await mkdtemp(join(homedir(), '.drawbridge-test-'));
    try {
      const provider = newProvider({ dataDir });
      const { connection, session } = await launch(provider);
      const config = await readFile(join(dataDir, 'sessions', session.id, 'sshd_config'), 'utf8');
      expect(config).toContain('StrictModes yes');
      expect((await echoThroughBastion(through(connection))).ok).toBe(true);
      await provider.release(session);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a data directory that other users could write into', async () => {
    const open = join(root, 'world-writable');
    await mkdir(open);
    await chmod(open, 0o777);
    const provider = newProvider({ dataDir: join(open, 'data') });
    const plan = planFor();

    await expect(provider.launch(plan)).rejects.toThrow(/writable by other users/);
    expect(await provider.listOwned()).toEqual([]);
  });

  it('gives a ProvisioningError with sshd’s own words when sshd cannot start', async () => {
    const fake = join(root, 'broken-sshd');
    await writeFile(
      fake,
      '#!/bin/sh\necho "Missing privilege separation directory: /run/sshd" >&2\nexit 255\n',
      { mode: 0o755 },
    );
    const provider = newProvider({ sshdPath: fake });
    const plan = planFor();

    const error = await provider.launch(plan).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect((error as ProvisioningError).reason).toContain('Missing privilege separation directory');
    expect(await provider.listOwned()).toEqual([]);
    await expect(
      stat(join(sessionDir(provider, plan.session), 'authorized_keys')),
    ).rejects.toThrow();
  });

  it('gives a ProvisioningError when sshd is not where it was said to be', async () => {
    const provider = newProvider({ sshdPath: join(root, 'no-such-sshd') });
    await expect(provider.launch(planFor())).rejects.toBeInstanceOf(ProvisioningError);
  });

  it('reports its bastion running through onBastionRunning, after launch returned, and launch carries no connection', async () => {
    const running: string[] = [];
    const provider = newProvider({ running });
    const { result, session } = await launch(provider);
    expect(result.connection).toBeUndefined();
    expect(result.resources.pid).toBeGreaterThan(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(running).toEqual([session.id]);
  });

  it('release does not claim a bastion gone while its sshd survives the kill; a later release ends it', async () => {
    const dataDir = join(root, 'data-unkillable');
    const stubborn = newProvider({ dataDir, signal: () => undefined });
    const { connection, session } = await launch(stubborn);
    launched.pop();
    await expect(stubborn.release(session)).rejects.toBeInstanceOf(ProvisioningError);
    // Still there, for the reaper to find; the key is gone already, so nobody new gets in.
    expect((await stubborn.listOwned()).map((owned) => owned.sessionId)).toEqual([session.id]);
    expect((await echoThroughBastion(through(connection))).ok).toBe(false);
    const provider = newProvider({ dataDir });
    await expect(provider.release(session)).resolves.toBeUndefined();
    expect(await provider.listOwned()).toEqual([]);
  });
});
