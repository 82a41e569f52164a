import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpawnFn } from '../../cli/io.ts';
import type { Io } from '../../cli/main.ts';
import { checkChain } from '../../cli/session-commands.ts';
import {
  type LocalOrchestrator,
  startLocalOrchestrator,
} from '../../lib/local/local-orchestrator.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import { type CliRun, runCli } from '../support/cli.ts';

const execFileAsync = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');

interface SessionJson {
  id: string;
  status: string;
  owner: string;
  target: string;
  reason: string;
  expiresAt?: string;
  failureReason?: string;
  endReason?: string;
  connection?: {
    bastion: { host: string; port: number; user: string };
    hostKeyFingerprint?: string;
    hostKey?: string;
    knownHosts?: string;
    target: { host: string; port: number };
  };
  identityFile?: string;
  ssh?: { localPort: number; forward: string[]; jump: string[]; config: string };
}

interface RunOptions {
  env?: Record<string, string>;
  isTTY?: boolean;
  fetch?: typeof fetch;
  spawn?: SpawnFn;
  onInterrupt?: Io['onInterrupt'];
}

let root: string;
let dataDir: string;
let echo: Server;
let echoPort: number;
let orchestrator: LocalOrchestrator;
/** alice's config lives under XDG_CONFIG_HOME; bob gets his own file */
let aliceEnv: Record<string, string>;
let bobEnv: Record<string, string>;
let keysDir: string;

function cli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  return runCli(args, { ...options, env: options.env ?? aliceEnv, cwd: root });
}

const parse = <T = SessionJson>(run: CliRun): T => JSON.parse(run.stdout) as T;

/** The request a fetch was called with, whatever form the input took. */
function describeRequest(input: Parameters<typeof fetch>[0], init?: RequestInit) {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const headers = new Headers(init?.headers);
  return {
    method: init?.method ?? 'GET',
    path: new URL(url).pathname,
    idempotencyKey: headers.get('idempotency-key'),
    body: typeof init?.body === 'string' ? init.body : undefined,
  };
}

/** A spawn that starts nothing: it records what would have run and "exits" with `code`. */
function recordingSpawn(code = 0) {
  const calls: { command: string; args: string[]; options: Record<string, unknown> }[] = [];
  const spawnFn: SpawnFn = (command, args, options) => {
    calls.push({ command, args, options: { ...options } });
    const child = new EventEmitter();
    setImmediate(() => child.emit('exit', code, null));
    return child;
  };
  return { calls, spawnFn };
}

async function startEcho(): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return server;
}

const serverPort = (server: Server): number => {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
};

async function openSession(reason = 'cli test'): Promise<SessionJson> {
  const run = await cli(['open', 'echo', '--for', '5m', '--reason', reason, '--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return parse(run);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-cli-'));
  dataDir = join(root, 'data');
  echo = await startEcho();
  echoPort = serverPort(echo);
  const policyFile = join(root, 'policy.yaml');
  await writeFile(
    policyFile,
    [
      'version: 1',
      'adminGroup: drawbridge-admins',
      'quota:',
      '  activeSessionsPerUser: 10',
      'targets:',
      '  - name: echo',
      '    mode: local',
      '    host: 127.0.0.1',
      `    port: ${echoPort}`,
      '    allowedGroups: [dev]',
      '    defaultDurationMinutes: 15',
      '    maxDurationMinutes: 60',
      '  - name: shell',
      '    mode: local',
      '    host: 127.0.0.1',
      '    port: 22',
      '    allowedGroups: [dev]',
      '    defaultDurationMinutes: 15',
      '    maxDurationMinutes: 60',
      '  - name: vault',
      '    mode: local',
      '    host: 127.0.0.1',
      '    port: 8200',
      '    allowedGroups: [security]',
      '    defaultDurationMinutes: 15',
      '    maxDurationMinutes: 60',
      '',
    ].join('\n'),
  );
  orchestrator = await startLocalOrchestrator({ dataDir, policyFile, logger: silentLogger });
  // What `npm start` does once the API listens: tell the CLI where it is.
  await writeFile(join(dataDir, 'local.json'), JSON.stringify({ url: orchestrator.url }), {
    mode: 0o600,
  });
  aliceEnv = { XDG_CONFIG_HOME: join(root, 'xdg'), DRAWBRIDGE_DATA_DIR: dataDir, HOME: root };
  bobEnv = {
    DRAWBRIDGE_CONFIG: join(root, 'bob', 'config.json'),
    DRAWBRIDGE_DATA_DIR: dataDir,
    HOME: root,
  };
  keysDir = join(root, 'xdg', 'drawbridge', 'keys');
});

afterAll(async () => {
  if (orchestrator) {
    // stop() leaves sshd bastions running (a restart re-adopts them): end every session first.
    const admin = await orchestrator.signIn('dana');
    const headers = { authorization: `Bearer ${admin}` };
    const page = (await (
      await fetch(`${orchestrator.url}/sessions?all=true&limit=100`, { headers })
    ).json()) as { items: SessionJson[] };
    for (const session of page.items) {
      if (!['ENDED', 'FAILED'].includes(session.status)) {
        await fetch(`${orchestrator.url}/sessions/${session.id}`, { method: 'DELETE', headers });
      }
    }
    await orchestrator.stop();
  }
  await new Promise<void>((done) => (echo ? echo.close(() => done()) : done()));
  await rm(root, { recursive: true, force: true });
});

describe('help and usage', () => {
  it('documents every command and the exit codes, exit 0', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const command of [
      'login',
      'open',
      'ls',
      'show',
      'end',
      'events',
      'extend',
      'approve',
      'deny',
      'reviews',
      'review',
    ]) {
      expect(top.stdout).toContain(`  ${command} `);
      const help = await cli([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toContain(`drawbridge ${command}`);
      expect(help.stdout, command).toContain('--json');
    }
    expect(top.stdout).toMatch(/130\s+interrupted/);
  });

  it('answers usage errors with exit 2 and one line', async () => {
    for (const args of [
      ['frobnicate'],
      ['ls', '--bogus'],
      ['show'],
      ['show', 's-1', 'extra'],
      ['ls', '--status', 'SLEEPING'],
      ['ls', '--limit', '500'],
      ['open', 'echo', '--for', '5m'],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^drawbridge: [^\n]+\n$/);
    }
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: drawbridge');
  });

  it('the launcher runs the CLI as a real process', async () => {
    const { stdout } = await execFileAsync(process.execPath, [
      join(REPO, 'bin/drawbridge.mjs'),
      '--help',
    ]);
    expect(stdout).toContain('Exit codes:');
  });
});

describe('signing in', () => {
  it('without a token every command exits 3 and says how to sign in', async () => {
    const run = await cli(['ls']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^drawbridge: not signed in: run `drawbridge login[^\n]+\n$/);
    const asJson = await cli(['ls', '--json']);
    expect(asJson.code).toBe(3);
    expect(parse<{ error: { code: string } }>(asJson).error.code).toBe('not_signed_in');
  });

  it('login --local signs a demo user in through the local provider and caches the tokens privately', async () => {
    const run = await cli(['login', '--local', '--user', 'alice', '--mfa']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`signed in to ${orchestrator.url} as alice (groups: dev)`);
    const file = join(root, 'xdg', 'drawbridge', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'xdg', 'drawbridge'))).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(file, 'utf8')) as {
      apiUrl: string;
      token: string;
      oidc: { issuer: string; refreshToken?: string };
    };
    expect(saved.apiUrl).toBe(orchestrator.url);
    expect(saved.oidc.issuer).toBe(orchestrator.oidc.issuer);
    expect(saved.oidc.refreshToken).toEqual(expect.any(String));
    expect(decodeJwt(saved.token)).toMatchObject({
      iss: orchestrator.oidc.issuer,
      aud: 'drawbridge',
      sub: 'alice',
      groups: ['dev'],
      amr: ['pwd', 'otp'],
    });

    const bob = await cli(['login', '--local', '--user', 'bob', '--json'], { env: bobEnv });
    expect(bob.code).toBe(0);
    expect(parse<{ subject: string; configFile: string }>(bob)).toMatchObject({
      subject: 'bob',
      configFile: join(root, 'bob', 'config.json'),
    });
  });

  it('login refuses an unknown demo user (2), a wrong password (3), a missing local mode (1), and saves --token as given', async () => {
    const env = {
      DRAWBRIDGE_CONFIG: join(root, 'carol', 'config.json'),
      DRAWBRIDGE_DATA_DIR: dataDir,
    };
    expect((await cli(['login', '--local', '--user', 'mallory'], { env })).code).toBe(2);
    const wrong = await cli(['login', '--local', '--user', 'alice', '--password', 'guess'], {
      env,
    });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(
      /^drawbridge: sign-in failed \(401\): Unknown user or wrong password\.\n$/,
    );
    const elsewhere = await cli(
      ['login', '--local', '--user', 'x', '--data-dir', join(root, 'nowhere')],
      { env: { DRAWBRIDGE_CONFIG: join(root, 'carol', 'config.json') } },
    );
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/^drawbridge: no local Drawbridge in [^\n]+\n$/);

    const token = await orchestrator.signIn('alice');
    const daveEnv = { DRAWBRIDGE_CONFIG: join(root, 'dave', 'config.json') };
    const saved = await cli(['login', '--token', token, '--api', orchestrator.url], {
      env: daveEnv,
    });
    expect(saved.code).toBe(0);
    expect(saved.stdout).toContain('as alice');
    const list = await cli(['ls', '--json'], { env: daveEnv });
    expect(list.code).toBe(0);
  });

  it('a token the API refuses exits 3 with the API message on one line', async () => {
    const run = await cli(['ls', '--token', 'not.a.token']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^drawbridge: token [^\n]+\n$/);
  });

  it('an API that cannot be reached exits 1 with one line', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = serverPort(closed);
    await new Promise<void>((done) => closed.close(() => done()));
    const run = await cli(['ls', '--api', `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^drawbridge: cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused[^\n]*\n$/,
    );
  });
});

describe('a session from open to end', () => {
  let session: SessionJson;
  const requests: ReturnType<typeof describeRequest>[] = [];
  const recordingFetch: typeof fetch = (input, init) => {
    requests.push(describeRequest(input, init));
    return fetch(input, init);
  };

  it('ls is empty before anything is opened', async () => {
    const run = await cli(['ls']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('no sessions\n');
    expect(parse<{ items: unknown[] }>(await cli(['ls', '--json'])).items).toEqual([]);
  });

  it('open waits for READY and hands over a key that never left the machine', async () => {
    const run = await cli(['open', 'echo', '--for', '5m', '--reason', 'debug the echo', '--json'], {
      fetch: recordingFetch,
    });
    expect(run.code).toBe(0);
    session = parse(run);
    expect(session.status).toBe('READY');
    expect(session.owner).toBe('alice');
    expect(session.connection?.target).toEqual({ host: '127.0.0.1', port: echoPort });
    expect(session.identityFile).toBe(join(keysDir, session.id, 'id_ed25519'));
    const identityFile = session.identityFile ?? '';
    expect((await stat(identityFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(keysDir, session.id))).mode & 0o777).toBe(0o700);

    const posts = requests.filter((request) => request.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    const sent = JSON.parse(posts[0]?.body ?? '{}') as {
      publicKey: string;
      durationMinutes: number;
    };
    expect(sent.durationMinutes).toBe(5);
    expect(sent.publicKey).toBe((await readFile(`${identityFile}.pub`, 'utf8')).trim());
    for (const request of requests) expect(request.body ?? '').not.toContain('PRIVATE KEY');
    expect(requests.filter((request) => request.method === 'GET').length).toBeGreaterThan(0);
  });

  it('the printed port forward really reaches the target with that key', async () => {
    const forward = session.ssh?.forward ?? [];
    expect(forward.slice(0, 3)).toEqual(['ssh', '-i', session.identityFile]);
    const localPort = session.ssh?.localPort ?? 0;
    // The echo server itself holds the suggested port on this machine, so another was chosen.
    expect(localPort).not.toBe(echoPort);
    expect(forward).toContain(`127.0.0.1:${localPort}:127.0.0.1:${echoPort}`);
    const [command = 'ssh', ...args] = forward;
    const ssh: ChildProcess = spawn(command, ['-o', 'BatchMode=yes', ...args], { stdio: 'ignore' });
    try {
      const echoed = await roundTripThrough(localPort, ssh, 'hello through the bridge\n');
      expect(echoed).toBe('hello through the bridge\n');
    } finally {
      ssh.kill('SIGTERM');
    }
  });

  it('the jump line carries the key to the first hop: its ProxyCommand reaches the target', async () => {
    const jump = session.ssh?.jump ?? [];
    const proxy = jump[2]?.replace(/^ProxyCommand=/, '') ?? '';
    expect(jump[1]).toBe('-o');
    expect(proxy).toContain(`-i ${session.identityFile} `);
    // What ssh does with a ProxyCommand: expand %h and %p, then run it with the shell.
    const command = proxy.replaceAll('%h', '127.0.0.1').replaceAll('%p', String(echoPort));
    const hop = spawn('/bin/sh', ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      hop.stdin?.write('through the first hop\n');
      let received = '';
      for await (const chunk of hop.stdout ?? []) {
        received += String(chunk);
        if (received.includes('\n')) break;
      }
      expect(received).toBe('through the first hop\n');
    } finally {
      hop.kill('SIGTERM');
    }
  });

  it('show prints the session and the ssh lines with -i', async () => {
    const run = await cli(['show', session.id]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${session.id}\n`);
    expect(run.stdout).toMatch(/status\s+READY/);
    expect(run.stdout).toContain(`ssh -i ${session.identityFile} `);
    expect(run.stdout).toContain(`IdentityFile ${session.identityFile}`);
    expect(run.stdout).toContain(`until ${session.expiresAt}`);
    // The local bastion takes the cloud's path: launch sent, running signal, readiness proof.
    expect(run.stdout).toMatch(
      /to ready\s+\d+\.\d+s: launch \d+\.\d+s \(Drawbridge\), running \d+\.\d+s \(the cloud\), ready \d+\.\d+s \(boot and proof\)\n/,
    );
    const asJson = parse(await cli(['show', session.id, '--json']));
    expect(asJson).toMatchObject({
      id: session.id,
      status: 'READY',
      identityFile: session.identityFile,
    });
  });

  it('ls lists it', async () => {
    const run = await cli(['ls']);
    expect(run.code).toBe(0);
    const [header, row] = run.stdout.split('\n');
    expect(header).toMatch(/^ID\s+TARGET\s+STATUS\s+OWNER\s+EXPIRES\/ENDED\s+REASON$/);
    expect(row).toMatch(
      new RegExp(
        `^${session.id}\\s+echo\\s+READY\\s+alice\\s+expires in \\d+m(\\d+s)?\\s+debug the echo$`,
      ),
    );
    const page = parse<{ items: SessionJson[] }>(await cli(['ls', '--json', '--status', 'ready']));
    expect(page.items.map((item) => item.id)).toContain(session.id);
  });

  it('events shows requested to ready with the hash chain intact', async () => {
    const run = await cli(['events', session.id]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+TYPE\s+ACTOR\s+STATUS\s+DETAIL$/);
    expect(lines[1]).toMatch(/^1\s+\S+Z\s+requested\s+alice\s+REQUESTED\s+.*reason=debug the echo/);
    expect(lines.some((line) => /\sready\s+drawbridge\s+READY\s/.test(line))).toBe(true);
    expect(lines.filter((line) => /^hash chain intact \(\d+ events\)$/.test(line))).toHaveLength(1);
    const asJson = parse<{ items: { type: string }[]; chain: { status: string } }>(
      await cli(['events', session.id, '--json']),
    );
    expect(asJson.chain.status).toBe('intact');
    expect(asJson.items.map((event) => event.type)).toContain('ready');
  });

  it("someone else's session is not found (4), whatever the command", async () => {
    for (const command of ['show', 'end', 'events']) {
      const run = await cli([command, session.id], { env: bobEnv });
      expect(run.code, command).toBe(4);
      expect(run.stderr, command).toBe('drawbridge: session not found\n');
    }
    const malformed = await cli(['show', '../../etc/passwd']);
    expect(malformed.code).toBe(4);
  });

  it('end ends it, forgets the key, and show then says ENDED', async () => {
    const run = await cli(['end', session.id]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${session.id} ENDED (revoked)\n`);
    await expect(stat(join(keysDir, session.id))).rejects.toThrow();
    const shown = await cli(['show', session.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/status\s+ENDED/);
    expect(shown.stdout).not.toContain('ssh -i');
    expect(parse(await cli(['show', session.id, '--json'])).status).toBe('ENDED');
    expect(parse(await cli(['end', session.id, '--json'])).status).toBe('ENDED');
    const tail = parse<{ items: { type: string }[] }>(await cli(['events', session.id, '--json']));
    expect(tail.items.at(-1)?.type).toBe('ended');
  });
});

describe('open: refusals and failures', () => {
  async function leftoverKeys(): Promise<string[]> {
    return (await readdir(keysDir).catch(() => [])).filter((name) => name.startsWith('pending-'));
  }

  it('an unknown target is a usage error (2) in one line, and its key is thrown away', async () => {
    const run = await cli(['open', 'nope', '--reason', 'just looking']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^drawbridge: [^\n]*unknown target 'nope'[^\n]*\n$/);
    expect(run.stdout).toBe('');
    const asJson = await cli(['open', 'nope', '--reason', 'just looking', '--json']);
    expect(asJson.code).toBe(2);
    expect(parse<{ error: { code: string; message: string } }>(asJson).error).toEqual({
      code: 'invalid_request',
      message: "unknown target 'nope'; you may open: echo, shell",
    });
    expect(await leftoverKeys()).toEqual([]);
  });

  it('a target your groups may not open is refused with 3, a window over the maximum with 2', async () => {
    const forbidden = await cli(['open', 'vault', '--reason', 'rotate keys']);
    expect(forbidden.code).toBe(3);
    expect(forbidden.stderr).toBe("drawbridge: your groups may not open target 'vault'\n");
    const tooLong = await cli(['open', 'echo', '--for', '2h', '--reason', 'long night']);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toMatch(/^drawbridge: --for 2h exceeds the maximum of 1h[^\n]*\n$/);
  });

  it('a bad --for is a usage error (2) before anything is sent or made', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls += 1;
      return fetch(input, init);
    };
    const run = await cli(['open', 'echo', '--for', 'soon', '--reason', 'x y z'], {
      fetch: counting,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^drawbridge: --for: 'soon' is not a duration[^\n]*\n$/);
    expect(calls).toBe(0);
    expect(await leftoverKeys()).toEqual([]);
  });

  it('--key sends your public key, never a private one', async () => {
    const own = join(root, 'own_key');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'me', '-f', own]);
    const bodies: string[] = [];
    const recording: typeof fetch = (input, init) => {
      const { body } = describeRequest(input, init);
      if (body) bodies.push(body);
      return fetch(input, init);
    };
    const run = await cli(
      ['open', 'echo', '--reason', 'my own key', '--key', `${own}.pub`, '--json'],
      {
        fetch: recording,
      },
    );
    expect(run.code).toBe(0);
    const opened = parse(run);
    expect(opened.identityFile).toBe(own);
    expect(opened.ssh?.forward.slice(0, 3)).toEqual(['ssh', '-i', own]);
    const sent = JSON.parse(bodies[0] ?? '{}') as { publicKey: string };
    expect(sent.publicKey).toBe((await readFile(`${own}.pub`, 'utf8')).trim());
    await cli(['end', opened.id]);

    const disguised = join(root, 'disguised.pub');
    await writeFile(disguised, await readFile(own, 'utf8'));
    bodies.length = 0;
    const refused = await cli(['open', 'echo', '--reason', 'oops', '--key', disguised], {
      fetch: recording,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `drawbridge: --key: ${disguised} is a private key; pass the public key (.pub)\n`,
    );
    expect(bodies).toEqual([]);
  });

  it('a FAILED session prints its reason and exits 6', async () => {
    const view = {
      id: 's-0123456789abcdefghjk',
      target: 'echo',
      mode: 'local',
      owner: 'alice',
      sourceCidr: '127.0.0.1/32',
      reason: 'cli test',
      durationMinutes: 5,
      createdAt: new Date().toISOString(),
    };
    const fake: typeof fetch = async (input, init) => {
      const { method } = describeRequest(input, init);
      const body =
        method === 'POST'
          ? { ...view, status: 'REQUESTED' }
          : { ...view, status: 'FAILED', failureReason: 'sshd did not start' };
      return new Response(JSON.stringify(body), { status: method === 'POST' ? 202 : 200 });
    };
    const run = await cli(
      [
        'open',
        'echo',
        '--reason',
        'cli test',
        '--api',
        'http://drawbridge.invalid',
        '--token',
        'a.b.c',
      ],
      { fetch: fake },
    );
    expect(run.code).toBe(6);
    expect(run.stderr).toContain(`drawbridge: ${view.id} FAILED: sshd did not start\n`);
    await expect(stat(join(keysDir, view.id))).rejects.toThrow();
  });
});

describe('open: waiting, retrying, connecting', () => {
  it('Ctrl-C while waiting revokes the request and exits 130', async () => {
    let fire: (() => void) | undefined;
    // Ctrl-C as soon as the request has been accepted, before any poll can see READY.
    const interrupting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (describeRequest(input, init).method === 'POST') fire?.();
      return response;
    };
    const run = await cli(['open', 'echo', '--reason', 'changed my mind'], {
      fetch: interrupting,
      onInterrupt: (handler) => {
        fire = handler;
        return () => {
          fire = undefined;
        };
      },
    });
    expect(run.code).toBe(130);
    const id = /interrupted: revoking (s-[0-9a-z]{20})/.exec(run.stderr)?.[1] ?? '';
    expect(id).not.toBe('');
    expect(run.stderr).toContain(`${id} ENDED`);
    expect(fire).toBeUndefined();
    expect(parse(await cli(['show', id, '--json'])).status).toBe('ENDED');
  });

  it('a POST whose answer was lost is retried with the same Idempotency-Key: one session', async () => {
    const posts: (string | null)[] = [];
    const losing: typeof fetch = async (input, init) => {
      const request = describeRequest(input, init);
      const response = await fetch(input, init);
      if (request.method === 'POST') {
        posts.push(request.idempotencyKey);
        if (posts.length === 1)
          throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      }
      return response;
    };
    const before = parse<{ items: SessionJson[] }>(
      await cli(['ls', '--json', '--limit', '100']),
    ).items;
    const run = await cli(['open', 'echo', '--reason', 'flaky wifi', '--json'], { fetch: losing });
    expect(run.code).toBe(0);
    expect(posts).toHaveLength(2);
    expect(posts[1]).toBe(posts[0]);
    const after = parse<{ items: SessionJson[] }>(
      await cli(['ls', '--json', '--limit', '100']),
    ).items;
    expect(after.length).toBe(before.length + 1);
    const opened = parse(run);
    expect(opened.status).toBe('READY');
    expect(after.filter((item) => item.reason === 'flaky wifi').map((item) => item.id)).toEqual([
      opened.id,
    ]);
    await cli(['end', opened.id]);
  });

  it('--connect on a forward runs ssh -N -L with the key, no shell, and says which port to use', async () => {
    const { calls, spawnFn } = recordingSpawn(0);
    const run = await cli(
      ['open', 'echo', '--reason', 'connect me', '--connect', '--keep', '--local-port', '15432'],
      {
        spawn: spawnFn,
        isTTY: true,
      },
    );
    expect(run.code).toBe(0);
    // On a terminal the progress is one line redrawn in place, cleared before the result.
    expect(run.stderr).toContain('\r\x1b[2K');
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.command).toBe('ssh');
    expect(call?.options.shell).toBeUndefined();
    expect(call?.options.stdio).toBe('inherit');
    const args = call?.args ?? [];
    const id = /^(s-[0-9a-z]{20}) is READY/m.exec(run.stdout)?.[1] ?? '';
    const identityFile = join(keysDir, id, 'id_ed25519');
    expect(args.slice(0, 2)).toEqual(['-i', identityFile]);
    // The bastion's host key is pinned from the API, never trusted on first use.
    expect(args).toContain('StrictHostKeyChecking=yes');
    const knownHostsFile = join(keysDir, id, 'known_hosts');
    expect(args).toContain(`UserKnownHostsFile=${knownHostsFile}`);
    expect(args).toContain('-N');
    expect(args[args.indexOf('-L') + 1]).toBe(`127.0.0.1:15432:127.0.0.1:${echoPort}`);
    const shown = parse(await cli(['show', id, '--json']));
    expect(shown.connection?.knownHosts).toMatch(/^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
    expect(await readFile(knownHostsFile, 'utf8')).toBe(`${shown.connection?.knownHosts}\n`);
    expect(args.slice(-3)).toEqual([
      '-p',
      String(shown.connection?.bastion.port),
      `${shown.connection?.bastion.user}@127.0.0.1`,
    ]);
    expect(run.stderr).toContain('use 127.0.0.1:15432');
    expect(run.stderr).toContain(`bastion host key ${shown.connection?.hostKeyFingerprint}`);
    await cli(['end', id]);
  });

  it('--connect to an SSH target goes through the bastion with the key on the first hop', async () => {
    const { calls, spawnFn } = recordingSpawn(255);
    const run = await cli(['open', 'shell', '--reason', 'look at logs', '--connect'], {
      spawn: spawnFn,
    });
    // ssh's own exit code comes back (here: the fake ssh "failed" with 255).
    expect(run.code).toBe(255);
    const args = calls[0]?.args ?? [];
    const id = /^(s-[0-9a-z]{20}) is READY/m.exec(run.stdout)?.[1] ?? '';
    const identityFile = join(keysDir, id, 'id_ed25519');
    expect(args[0]).toBe('-o');
    expect(args[1]).toMatch(
      new RegExp(
        `^ProxyCommand=ssh -i ${identityFile} -o IdentitiesOnly=yes .*-W '\\[%h\\]:%p' \\S+@127\\.0\\.0\\.1$`,
      ),
    );
    expect(args.at(-1)).toBe('127.0.0.1');
    await cli(['end', id]);
  });
});

describe('hash chain check', () => {
  const sessionId = 's-0123456789abcdefghjk';

  it('recomputes the chain the API returned, and finds an edit', async () => {
    const { id } = await openSession('chain test');
    const { items } = parse<{ items: Parameters<typeof checkChain>[1] }>(
      await cli(['events', id, '--json']),
    );
    await cli(['end', id]);
    expect(checkChain(id, items)).toMatchObject({ status: 'intact' });
    const edited = items.map((event, index) =>
      index === 0 ? { ...event, detail: { ...event.detail, reason: 'something else' } } : event,
    );
    expect(checkChain(id, edited)).toEqual({ status: 'broken', brokenAt: 1 });
    expect(checkChain(sessionId, items)).toEqual({ status: 'broken', brokenAt: 1 });
  });

  it('calls a chain in the wrong shape unverifiable', () => {
    expect(checkChain(sessionId, [])).toMatchObject({ status: 'unverifiable' });
    expect(
      checkChain(sessionId, [
        { seq: 1, at: 'yesterday', type: 'requested', actor: 'a', status: 'REQUESTED' },
      ]),
    ).toMatchObject({ status: 'unverifiable' });
  });
});

/** Connects to the forward's local port once ssh listens there, sends `text`, reads it back. */
async function roundTripThrough(port: number, ssh: ChildProcess, text: string): Promise<string> {
  let exited = false;
  ssh.once('exit', () => {
    exited = true;
  });
  for (;;) {
    if (exited) throw new Error('ssh exited before the forward was up');
    try {
      return await new Promise<string>((done, fail) => {
        const socket = connect(port, '127.0.0.1');
        let received = '';
        socket.setEncoding('utf8');
        socket.once('error', fail);
        socket.on('data', (chunk: string) => {
          received += chunk;
          if (received.length >= text.length) {
            socket.destroy();
            done(received);
          }
        });
        socket.once('close', () => fail(new Error(`closed after '${received}'`)));
        socket.write(text);
      });
    } catch {
      // Not listening yet (or the channel was refused while ssh was still authenticating).
      await new Promise((wait) => setTimeout(wait, 100));
    }
  }
}
