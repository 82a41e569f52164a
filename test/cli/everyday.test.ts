// Issue 13, "the CLI, as a new user found it": each friction pinned against a real local mode.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inCliWords, OPEN_FLAGS } from '../../cli/api-words.ts';
import { relativeTime } from '../../cli/format.ts';
import type { SpawnFn } from '../../cli/io.ts';
import { didYouMean } from '../../cli/main.ts';
import {
  type LocalOrchestrator,
  startLocalOrchestrator,
} from '../../lib/local/local-orchestrator.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import { type CliRun, runCli } from '../support/cli.ts';

interface RunOptions {
  env?: Record<string, string>;
  fetch?: typeof fetch;
  spawn?: SpawnFn;
}

let root: string;
let dataDir: string;
let echo: Server;
let echoPort: number;
let orchestrator: LocalOrchestrator;
let env: Record<string, string>;
let keysDir: string;

function cli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  return runCli(args, { ...options, env: options.env ?? env, cwd: root });
}

const serverPort = (server: Server): number => {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-everyday-'));
  dataDir = join(root, 'data');
  echo = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  await new Promise<void>((done) => echo.listen(0, '127.0.0.1', done));
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
      '  - name: vault',
      '    mode: local',
      '    host: 127.0.0.1',
      '    port: 8200',
      '    allowedGroups: [security]',
      '    defaultDurationMinutes: 15',
      '    maxDurationMinutes: 60',
      '    approval:',
      '      approverGroups: [leads]',
      '      timeoutMinutes: 30',
      '',
    ].join('\n'),
  );
  // The demo people of this test's local provider; `login --local` reads their passwords here.
  const usersFile = join(root, 'users.yaml');
  await writeFile(
    usersFile,
    [
      'users:',
      '  - { name: alice, password: pw, groups: [dev] }',
      '  - { name: root, password: pw, groups: [drawbridge-admins] }',
      '  - { name: sam, password: pw, groups: [security] }',
      "  - { name: mia, password: pw, otp: '123456', groups: [dev, oncall] }",
      '',
    ].join('\n'),
  );
  orchestrator = await startLocalOrchestrator({
    dataDir,
    policyFile,
    logger: silentLogger,
    usersFile,
  });
  await writeFile(
    join(dataDir, 'local.json'),
    JSON.stringify({ url: orchestrator.url, usersFile }),
    { mode: 0o600 },
  );
  env = { XDG_CONFIG_HOME: join(root, 'xdg'), DRAWBRIDGE_DATA_DIR: dataDir, HOME: root };
  keysDir = join(root, 'xdg', 'drawbridge', 'keys');
  const login = await cli(['login', '--local', '--user', 'alice']);
  expect(login.code).toBe(0);
});

afterAll(async () => {
  if (orchestrator) {
    const admin = await orchestrator.signIn('root');
    const headers = { authorization: `Bearer ${admin}` };
    const page = (await (
      await fetch(`${orchestrator.url}/sessions?all=true&limit=100`, { headers })
    ).json()) as { items: { id: string; status: string }[] };
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

describe('usage errors speak in flags and exit 2 (items 6, 7)', () => {
  it("the API's field names become the CLI's flags, its minutes become durations", async () => {
    const tooLong = await cli(['open', 'echo', '--for', '2h', '--reason', 'long night']);
    expect(tooLong.stderr).toBe(
      "drawbridge: --for 2h exceeds the maximum of 1h for target 'echo'\n",
    );
    expect(tooLong.code).toBe(2);
    const short = await cli(['open', 'echo', '--reason', 'no']);
    expect(short.stderr).toMatch(/^drawbridge: --reason: must say why you need access[^\n]*\n$/);
    expect(short.stderr).not.toContain('body');
    expect(short.code).toBe(2);
  });

  it('a rewritten message never keeps a camelCase field name (property)', () => {
    const field = fc.constantFrom('durationMinutes', 'publicKey', 'incidentId', 'breakGlass');
    fc.assert(
      fc.property(field, fc.string({ maxLength: 30 }), fc.nat(2000), (name, rest, n) => {
        const message = `body: ${name}: ${rest.replace(/[A-Za-z]+/g, 'x')} ${name} ${n}`;
        const words = inCliWords(message, OPEN_FLAGS);
        expect(words).not.toContain(name);
        expect(words.startsWith(`${OPEN_FLAGS[name]}: `)).toBe(true);
      }),
    );
  });

  it('an unknown option or command is one line with a did-you-mean, exit 2', async () => {
    const option = await cli(['open', 'echo', '--fro', '2h', '--reason', 'typo']);
    expect(option.code).toBe(2);
    expect(option.stderr).toBe(
      'drawbridge: unknown option --fro for drawbridge open; did you mean --for? (see drawbridge open --help)\n',
    );
    const command = await cli(['shwo', 's-1']);
    expect(command.code).toBe(2);
    expect(command.stderr).toBe(
      'drawbridge: unknown command shwo; did you mean show? (see drawbridge --help)\n',
    );
    const missing = await cli(['open', 'echo', '--reason']);
    expect(missing.stderr).toBe(
      'drawbridge: --reason needs a value (see drawbridge open --help)\n',
    );
    for (const run of [option, command, missing]) {
      // No quote left open: every quote the line has, it closes.
      expect((run.stderr.match(/'/g) ?? []).length % 2).toBe(0);
    }
  });

  it('suggests nothing for a word far from every option', () => {
    expect(didYouMean('--zzz', ['--for', '--reason'])).toBeUndefined();
    expect(didYouMean('--statu', ['--status', '--target'])).toBe('--status');
  });

  it('ls --status knows every status the API has, PENDING_APPROVAL included', async () => {
    const run = await cli(['ls', '--status', 'pending_approval']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
});

/** The session id in an ssh argument vector (its key and known_hosts live under keys/<id>/). */
const idIn = (args: readonly string[]): string =>
  /(s-[0-9a-z]{20})/.exec(args.join(' '))?.[1] ?? '';

/** A spawn that runs `during` as if ssh were connected, then "exits" with `code`. */
function scriptedSsh(code: number, during: (args: string[]) => Promise<void>) {
  const calls: string[][] = [];
  const spawnFn: SpawnFn = (_command, args) => {
    calls.push(args);
    const child = new EventEmitter();
    void during(args).then(
      () => child.emit('exit', code, null),
      (error: unknown) => child.emit('error', error),
    );
    return child;
  };
  return { calls, spawnFn };
}

async function statusOf(id: string): Promise<{ status: string; endReason?: string }> {
  const run = await cli(['show', id, '--json']);
  return JSON.parse(run.stdout) as { status: string; endReason?: string };
}

describe('open --connect: how it ends (item 1)', () => {
  it('a session ended under the live connection is told as ended, when and why, exit 0', async () => {
    const { calls, spawnFn } = scriptedSsh(255, async (args) => {
      // Someone (an admin, the window's end) ends the session while ssh is connected: ssh
      // sees its connection cut and exits 255.
      expect((await cli(['end', idIn(args)])).code).toBe(0);
    });
    const run = await cli(['open', 'echo', '--reason', 'cut under me', '--connect'], {
      spawn: spawnFn,
    });
    const id = idIn(calls[0] ?? []);
    expect(run.stderr).toMatch(
      new RegExp(`${id} ended at \\d{4}-\\d\\d-\\d\\dT[^ ]+ \\(revoked\\)\\n$`),
    );
    expect(run.stderr).not.toContain('stays open');
    expect(run.code).toBe(0);
  });

  it('leaving the connection ends the session; --keep keeps it and says until when', async () => {
    const left = scriptedSsh(0, async () => {});
    const run = await cli(['open', 'echo', '--reason', 'quick look', '--connect'], {
      spawn: left.spawnFn,
    });
    expect(run.code).toBe(0);
    const id = idIn(left.calls[0] ?? []);
    expect(run.stderr).toContain(`connection closed (--keep keeps the session): revoking ${id}`);
    expect((await statusOf(id)).status).toBe('ENDED');

    const kept = scriptedSsh(0, async () => {});
    const keep = await cli(['open', 'echo', '--reason', 'back soon', '--connect', '--keep'], {
      spawn: kept.spawnFn,
    });
    expect(keep.code).toBe(0);
    const keptId = idIn(kept.calls[0] ?? []);
    expect(keep.stderr).toMatch(
      new RegExp(
        `${keptId} stays open until \\S+ \\(--keep\\); end it now with: drawbridge end ${keptId}\\n$`,
      ),
    );
    expect((await statusOf(keptId)).status).toBe('READY');
    await cli(['end', keptId]);
  });
});

describe('the local port of the forward (items 2, 3)', () => {
  it("show during a live forward prints the forward's own port", async () => {
    let shown: number | undefined;
    const { calls, spawnFn } = scriptedSsh(0, async (args) => {
      // As ssh does: the forward holds its local port while it runs.
      const port = Number(args[args.indexOf('-L') + 1]?.split(':')[1]);
      const holder = createServer();
      await new Promise<void>((done) => holder.listen(port, '127.0.0.1', done));
      try {
        const run = await cli(['show', idIn(args), '--json']);
        shown = (JSON.parse(run.stdout) as { ssh?: { localPort: number } }).ssh?.localPort;
      } finally {
        await new Promise<void>((done) => holder.close(() => done()));
      }
    });
    const run = await cli(['open', 'echo', '--reason', 'two views', '--connect', '--keep'], {
      spawn: spawnFn,
    });
    expect(run.code).toBe(0);
    const args = calls[0] ?? [];
    expect(shown).toBe(Number(args[args.indexOf('-L') + 1]?.split(':')[1]));
    await cli(['end', idIn(args)]);
  });

  it("the API's forward line does not reuse the port of a target on this machine", async () => {
    const run = await cli(['open', 'echo', '--reason', 'which port', '--json']);
    const opened = JSON.parse(run.stdout) as {
      id: string;
      connection: { sshForward: string; sshConfig: string };
    };
    const apiPort = Number(/-L 127\.0\.0\.1:(\d+):/.exec(opened.connection.sshForward)?.[1]);
    expect(apiPort).not.toBe(echoPort);
    expect(apiPort).toBeGreaterThanOrEqual(20_000);
    expect(opened.connection.sshConfig).toContain(`LocalForward 127.0.0.1:${apiPort} `);
    await cli(['end', opened.id]);
  });
});

describe('trying a target with nothing but OpenSSH (item 12)', () => {
  it('open --connect --stdio joins the terminal to the target through the bastion (real ssh)', async () => {
    const spawnFn: SpawnFn = (command, args) => {
      // The terminal, played by pipes: one line typed, then Ctrl-D.
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout?.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      child.stdin?.end('hello through the bridge\n');
      return child;
    };
    let received = '';
    const run = await cli(['open', 'echo', '--reason', 'no nc here', '--connect', '--stdio'], {
      spawn: spawnFn,
    });
    expect(run.stderr).toContain('talking to 127.0.0.1:');
    expect(received).toBe('hello through the bridge\n');
    expect(run.code).toBe(0);
    const id = /^(s-[0-9a-z]{20}) is READY/m.exec(run.stdout)?.[1] ?? '';
    expect((await statusOf(id)).status).toBe('ENDED');
  });
});

describe('times, labels, costs and leftovers (item 11)', () => {
  it('a countdown shows seconds under 10 minutes and never rounds up', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    const at = (seconds: number) => new Date(now + seconds * 1000).toISOString();
    expect(relativeTime(at(83), now)).toBe('in 1m23s');
    expect(relativeTime(at(59), now)).toBe('in 59s');
    expect(relativeTime(at(14 * 60 + 59), now)).toBe('in 14m');
    expect(relativeTime(at(-125), now)).toBe('2m5s ago');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 48 * 3600 }), (seconds) => {
        const text = relativeTime(at(seconds), now);
        const m = /^in (?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
        expect(m, text).not.toBeNull();
        const shown = Number(m?.[1] ?? 0) * 3600 + Number(m?.[2] ?? 0) * 60 + Number(m?.[3] ?? 0);
        expect(shown).toBeLessThanOrEqual(seconds);
        expect(seconds - shown).toBeLessThan(seconds < 600 ? 1 : 60);
      }),
    );
  });

  it('show calls the provisioning deadline what it is', async () => {
    const run = await cli(['open', 'echo', '--reason', 'labels']);
    const id = /^(s-[0-9a-z]{20}) is READY/m.exec(run.stdout)?.[1] ?? '';
    const shown = await cli(['show', id]);
    expect(shown.stdout).toMatch(/^ {2}ready by +\d{4}-/m);
    expect(shown.stdout).not.toMatch(/^ {2}deadline /m);
    await cli(['end', id]);
  });

  it('usage against local mode shows no idle cost of a cloud reaper', async () => {
    const admin = { ...env, DRAWBRIDGE_CONFIG: join(root, 'admin', 'config.json') };
    await cli(['login', '--local', '--user', 'root'], {
      env: admin,
    });
    const run = await cli(['usage'], { env: admin });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('no idle baseline (local mode');
    expect(run.stdout).not.toContain('idle baseline (the reaper)');
  });

  it('keys of sessions whose window is over are removed by any later run, live ones stay', async () => {
    const live = await cli(['open', 'echo', '--reason', 'still using it', '--json']);
    const liveId = (JSON.parse(live.stdout) as { id: string }).id;
    const over = join(keysDir, 's-0000000000000000000a');
    const half = join(keysDir, 'pending-crashed');
    await mkdir(over, { recursive: true });
    await writeFile(join(over, 'id_ed25519'), 'secret');
    await writeFile(
      join(over, 'expires-at'),
      `${new Date(Date.now() - 3_600_000).toISOString()}\n`,
    );
    await mkdir(half, { recursive: true });
    const old = new Date(Date.now() - 2 * 24 * 3_600_000);
    await utimes(half, old, old);
    // Any command that reads its configuration, here one about another session entirely.
    await cli(['show', liveId]);
    const left = await readdir(keysDir);
    expect(left).not.toContain('s-0000000000000000000a');
    expect(left).not.toContain('pending-crashed');
    expect(left).toContain(liveId);
    await cli(['end', liveId]);
  });
});

describe('what may I open, who am I (item 5)', () => {
  it('targets lists what my groups may open, with its terms, and nothing else', async () => {
    const run = await cli(['targets']);
    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trim().split('\n');
    expect(header).toMatch(
      /^TARGET\s+MODE\s+ACCESS\s+RECORDED\s+DEFAULT\s+MAX\s+APPROVAL\s+MFA\s+BREAK-GLASS/,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/^echo\s+local\s+jump-only\s+connections\s+15m\s+1h\s+no\s+no\s+-$/);
    const leads = { ...env, DRAWBRIDGE_CONFIG: join(root, 'sec', 'config.json') };
    await cli(['login', '--local', '--user', 'sam'], { env: leads });
    const asJson = await cli(['targets', '--json'], { env: leads });
    expect(JSON.parse(asJson.stdout)).toEqual({
      items: [
        {
          name: 'vault',
          mode: 'local',
          access: 'jump-only',
          recording: 'metadata',
          recordingPolicy: { mode: 'metadata', input: false },
          defaultDurationMinutes: 15,
          maxDurationMinutes: 60,
          approval: { approverGroups: ['leads'], timeoutMinutes: 30 },
        },
      ],
    });
  });

  it('an unknown target names the ones I may open', async () => {
    const run = await cli(['open', 'ecko', '--reason', 'typo in the name']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("drawbridge: unknown target 'ecko'; you may open: echo\n");
  });

  it('--version, whoami and logout are commands', async () => {
    const version = await cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^drawbridge \d+\.\d+\.\d+\n$/);

    const own = { ...env, DRAWBRIDGE_CONFIG: join(root, 'who', 'config.json') };
    await cli(['login', '--local', '--user', 'mia', '--mfa'], {
      env: own,
    });
    const who = await cli(['whoami'], { env: own });
    expect(who.code).toBe(0);
    expect(who.stdout).toMatch(/^subject {2}mia$/m);
    expect(who.stdout).toMatch(/^groups {3}dev, oncall$/m);
    expect(who.stdout).toMatch(/^mfa {6}yes \(pwd, otp\), signed in (just now|\d+s ago)$/m);
    expect(who.stdout).toMatch(/^expires {2}\S+ \(in 1[45]m\d*s?\)$/m);

    const out = await cli(['logout'], { env: own });
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('signed out');
    const after = await cli(['whoami'], { env: own });
    expect(after.code).toBe(3);
    expect((await cli(['ls'], { env: own })).code).toBe(3);
  });
});

describe('events shows the connection log, with times (item 4)', () => {
  it('who authenticated, from where, and a refused forward, each with its time', async () => {
    const before = Date.now();
    const run = await cli(['open', 'echo', '--reason', 'leave a trace', '--json']);
    const opened = JSON.parse(run.stdout) as {
      id: string;
      identityFile: string;
      connection: { bastion: { host: string; port: number; user: string } };
    };
    const { bastion } = opened.connection;
    // A forward the key does not permit: sshd refuses it and says so in its log.
    await new Promise<void>((done) => {
      const ssh = spawn('ssh', [
        '-i',
        opened.identityFile,
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'BatchMode=yes',
        '-W',
        '127.0.0.1:9',
        '-p',
        String(bastion.port),
        `${bastion.user}@${bastion.host}`,
      ]);
      ssh.stdin.end();
      ssh.on('exit', () => done());
      ssh.on('error', () => done());
    });
    // The log is followed (and stamped) as sshd writes it; ask until the refusal has been seen.
    let shown = { connections: [] as { kind: string; at?: string; user?: string }[] };
    for (let attempt = 0; attempt < 50; attempt += 1) {
      shown = JSON.parse((await cli(['events', opened.id, '--json'])).stdout) as typeof shown;
      if (shown.connections.some((entry) => entry.kind === 'refused-forward' && entry.at)) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    const kinds = shown.connections.map((entry) => entry.kind);
    expect(kinds).toContain('authenticated');
    expect(kinds).toContain('refused-forward');
    for (const entry of shown.connections) {
      expect(entry.at, entry.kind).toBeDefined();
      expect(Date.parse(entry.at ?? '')).toBeGreaterThanOrEqual(before - 1000);
    }
    const text = await cli(['events', opened.id]);
    expect(text.stdout).toMatch(/^connections \(the bastion's sshd log\):$/m);
    expect(text.stdout).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\S+\\s+authenticated\\s+127\\.0\\.0\\.1:\\d+\\s+${bastion.user}\\s+key SHA256:`,
        'm',
      ),
    );
    expect(text.stdout).toMatch(
      /^\S+\s+refused-forward\s+127\.0\.0\.1:\d+\s+-\s+to 127\.0\.0\.1:9$/m,
    );
    await cli(['end', opened.id]);
  });
});
