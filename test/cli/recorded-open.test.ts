// A recorded target through the CLI against a fake API: targets, open, open --connect and show
// say the session is recorded and hand over its shell (ssh -tt), never a jump or a forward.
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpawnFn } from '../../cli/io.ts';
import { runCli } from '../support/cli.ts';

const id = 's-0123456789abcdefghjk';
const API = ['--api', 'http://api.test', '--token', 'a.b.c'];
const knownHostsFile = `~/.ssh/drawbridge-${id}.known_hosts`;

const recordedConnection = {
  bastion: { host: '127.0.0.1', port: 2201, user: 'db-abc' },
  knownHostsFile,
  target: { host: '10.0.1.9', port: 5432 },
  recorded: true,
  sshShell: `ssh -tt -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHostsFile} -p 2201 db-abc@127.0.0.1`,
  sshConfig: [
    'Host drawbridge-prod-shell',
    '  HostName 127.0.0.1',
    '  Port 2201',
    '  User db-abc',
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking yes',
    `  UserKnownHostsFile ${knownHostsFile}`,
    '  RequestTTY force',
    '',
  ].join('\n'),
};

const view = (status: string) => ({
  id,
  status,
  target: 'prod-shell',
  mode: 'local',
  owner: 'alice',
  sourceCidr: '203.0.113.9/32',
  reason: 'INC-1',
  durationMinutes: 30,
  createdAt: '2026-11-24T09:00:00.000Z',
  readyAt: '2026-11-24T09:00:05.000Z',
  expiresAt: '2099-11-24T09:30:05.000Z',
  recording: 'full',
  recordingPolicy: { mode: 'full', input: true, idleTimeoutMinutes: 15, idleEndsSession: true },
  ...(status === 'READY' ? { connection: recordedConnection } : {}),
});

const targets = {
  items: [
    {
      name: 'prod-shell',
      mode: 'local',
      access: 'shell',
      recording: 'full',
      recordingPolicy: { mode: 'full', input: true, idleTimeoutMinutes: 15, idleEndsSession: true },
      defaultDurationMinutes: 30,
      maxDurationMinutes: 60,
    },
    {
      name: 'ops-shell',
      mode: 'local',
      access: 'shell',
      recording: 'full',
      recordingPolicy: {
        mode: 'full',
        input: false,
        idleTimeoutMinutes: 30,
        idleEndsSession: false,
      },
      defaultDurationMinutes: 30,
      maxDurationMinutes: 60,
    },
    // an API from before recordingPolicy: the cell says what it knows
    {
      name: 'old-shell',
      mode: 'local',
      access: 'shell',
      recording: 'full',
      defaultDurationMinutes: 30,
      maxDurationMinutes: 60,
    },
    {
      name: 'prod-db',
      mode: 'local',
      access: 'jump-only',
      recording: 'metadata',
      defaultDurationMinutes: 30,
      maxDurationMinutes: 60,
    },
  ],
};

/** The API as a recorded target's session sees it: READY at once, ENDED once deleted. */
function fakeApi(options: { targets?: boolean } = {}) {
  const requests: string[] = [];
  let status = 'READY';
  const fetchFn = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    const path = new URL(String(input)).pathname;
    requests.push(`${method} ${path}`);
    const answer = (body: unknown, code = 200) =>
      new Response(JSON.stringify(body), {
        status: code,
        headers: { 'content-type': 'application/json' },
      });
    if (path === '/targets') {
      return options.targets === false
        ? answer({ error: { code: 'not_found', message: 'no such route' } }, 404)
        : answer(targets);
    }
    if (method === 'POST' && path === '/sessions') return answer(view(status), 202);
    if (method === 'DELETE') status = 'ENDED';
    return answer(view(status));
  }) as typeof fetch;
  return { fetchFn, requests };
}

let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'drawbridge-recorded-open-'));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const cli = (args: string[], fetchFn: typeof fetch, spawn?: SpawnFn) =>
  runCli(args, {
    env: { HOME: home, XDG_CONFIG_HOME: join(home, 'xdg') },
    cwd: home,
    fetch: fetchFn,
    ...(spawn ? { spawn } : {}),
  });

/** A spawn that starts nothing: it records what would have run and "exits" 0. */
function recordingSpawn() {
  const calls: { command: string; args: string[] }[] = [];
  const spawnFn: SpawnFn = (command, args) => {
    calls.push({ command, args });
    const child = new EventEmitter();
    setImmediate(() => child.emit('exit', 0, null));
    return child;
  };
  return { calls, spawnFn };
}

const open = ['open', 'prod-shell', '--reason', 'INC-1 look at the replica', ...API];

describe('a recorded target through the CLI', () => {
  it('targets says plainly what each recorded target keeps: input too or not, the idle timeout, and what it ends', async () => {
    const run = await cli(['targets', ...API], fakeApi().fetchFn);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^prod-shell\s+local\s+shell\s+YES: terminal, input too, idle 15 min ends session\s+30m\s/m,
    );
    expect(run.stdout).toMatch(
      /^ops-shell\s+local\s+shell\s+YES: terminal, idle 30 min disconnects\s+30m\s/m,
    );
    expect(run.stdout).toMatch(/^old-shell\s+local\s+shell\s+YES: terminal\s+30m\s/m);
    expect(run.stdout).toMatch(/^prod-db\s+local\s+jump-only\s+connections\s+30m\s/m);
    expect(run.stdout).toContain(
      'RECORDED YES: a session there is a shell on the bastion (ssh -tt) whose terminal is kept',
    );
    expect(run.stdout).toContain('input too: what you type is kept as well, except');
    expect(run.stdout).toContain('idle N min: no terminal activity for N minutes closes the');
  });

  it("targets --json passes each target's recording terms on", async () => {
    const run = await cli(['targets', '--json', ...API], fakeApi().fetchFn);
    expect(run.code).toBe(0);
    const items = (JSON.parse(run.stdout) as typeof targets).items;
    expect(items.find((item) => item.name === 'prod-shell')?.recordingPolicy).toEqual({
      mode: 'full',
      input: true,
      idleTimeoutMinutes: 15,
      idleEndsSession: true,
    });
  });

  it('open says plainly the session is recorded and prints the ssh -tt line, no jump or forward', async () => {
    const run = await cli(open, fakeApi().fetchFn);
    expect(run.code).toBe(0);
    const identityFile = join(home, 'xdg', 'drawbridge', 'keys', id, 'id_ed25519');
    const knownHosts = join(home, 'xdg', 'drawbridge', 'keys', id, 'known_hosts');
    expect(run.stdout).toContain(
      'This session is recorded (terminal output, and input except passwords): the owner, admins and auditors can replay it',
    );
    expect(run.stdout).toContain(
      'It is a shell on the bastion, never a tunnel: reach prod-shell (10.0.1.9:5432) from there',
    );
    expect(run.stdout).toContain('No activity for 15m closes the connection and ends the session.');
    expect(run.stdout).toContain(
      `Shell on the bastion (recorded):\n  ssh -tt -i ${identityFile} -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHosts} -p 2201 db-abc@127.0.0.1\n`,
    );
    expect(run.stdout).toContain('  RequestTTY force\n');
    expect(run.stdout).not.toMatch(/ -J | -W | -L | -N |ProxyCommand|LocalForward|Port forward/);
  });

  it('open --connect runs ssh -tt to the bastion with the pinned host key, never -J, -W or -L', async () => {
    const api = fakeApi();
    const { calls, spawnFn } = recordingSpawn();
    const run = await cli([...open, '--connect'], api.fetchFn, spawnFn);
    expect(run.code).toBe(0);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.command).toBe('ssh');
    expect(call?.args.slice(0, 1)).toEqual(['-tt']);
    expect(call?.args).toContain('StrictHostKeyChecking=yes');
    expect(call?.args).toContain(
      `UserKnownHostsFile=${join(home, 'xdg', 'drawbridge', 'keys', id, 'known_hosts')}`,
    );
    expect(call?.args.slice(-3)).toEqual(['-p', '2201', 'db-abc@127.0.0.1']);
    for (const tunnel of ['-J', '-W', '-L', '-N']) expect(call?.args).not.toContain(tunnel);
    expect(run.stderr).toContain('opening the recorded shell on the bastion');
    // Leaving the shell ends the session, as for any --connect without --keep.
    expect(api.requests).toContain(`DELETE /sessions/${id}`);
  });

  it('--stdio or --local-port on a recorded target is refused with exit 2 before anything is requested', async () => {
    for (const flags of [
      ['--connect', '--stdio'],
      ['--local-port', '15432'],
    ]) {
      const api = fakeApi();
      const run = await cli([...open, ...flags], api.fetchFn);
      expect(run.code, flags.join(' ')).toBe(2);
      expect(run.stderr).toBe(
        `drawbridge: prod-shell is recorded: its session is a shell on the bastion (ssh -tt), never a tunnel, so ${flags.includes('--stdio') ? '--stdio' : '--local-port'} cannot be used; open it without, and reach the target from that shell\n`,
      );
      expect(api.requests).toEqual(['GET /targets']);
    }
  });

  it('an API that cannot say which targets are recorded: refused once READY, and the session revoked', async () => {
    const api = fakeApi({ targets: false });
    const run = await cli([...open, '--connect', '--stdio'], api.fetchFn, recordingSpawn().spawnFn);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`a recorded session gives no tunnel: revoking ${id}`);
    expect(run.stderr).toContain('drawbridge: prod-shell is recorded: its session is a shell');
    expect(api.requests).toContain(`DELETE /sessions/${id}`);
  });

  it('show of a READY recorded session gives its shell line (and ssh.shell in --json)', async () => {
    const run = await cli(['show', id, ...API], fakeApi().fetchFn);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('This session is recorded (terminal output, and input');
    expect(run.stdout).toMatch(/Shell on the bastion \(recorded\):\n {2}ssh -tt /);
    expect(run.stdout).not.toContain('Port forward');
    const asJson = await cli(['show', id, '--json', ...API], fakeApi().fetchFn);
    const shown = JSON.parse(asJson.stdout) as { ssh: Record<string, unknown> };
    expect(Object.keys(shown.ssh).sort()).toEqual(['config', 'shell']);
    expect((shown.ssh.shell as string[]).slice(0, 2)).toEqual(['ssh', '-tt']);
  });
});
