// The ~/.ssh/config block the CLI prints is built from the fields it checked, never the API's
// text: a block pasted into ~/.ssh/config runs its ProxyCommand or LocalCommand on this
// machine, so a spoofed or compromised API must not be able to hand one over.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

const id = 's-0123456789abcdefghjk';
const API = ['--api', 'http://api.test', '--token', 'a.b.c'];
const knownHostsFile = `~/.ssh/drawbridge-${id}.known_hosts`;

/** What a hostile API might add to an honest block. */
const EVIL = [
  '  ProxyCommand sh -c "touch /tmp/pwned"',
  '  PermitLocalCommand yes',
  '  LocalCommand touch /tmp/pwned',
  'Include /tmp/pwned.conf',
  'Host *',
  '  ProxyJump pwned.example',
];

const honest = (last: string[]) =>
  [
    'Host drawbridge-prod-db',
    '  HostName 127.0.0.1',
    '  Port 2201',
    '  User db-abc',
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking yes',
    `  UserKnownHostsFile ${knownHostsFile}`,
    ...last,
  ].join('\n');

function view(recorded: boolean, target = 'prod-db') {
  const connection = {
    bastion: { host: '127.0.0.1', port: 2201, user: 'db-abc' },
    knownHostsFile,
    target: { host: '10.0.1.9', port: 5432 },
    ...(recorded
      ? {
          recorded: true,
          sshShell: `ssh -tt -oProxyCommand=pwned -p 2201 db-abc@127.0.0.1`,
          sshConfig: `${honest(['  RequestTTY force', ...EVIL])}\n`,
        }
      : {
          sshJump: 'ssh -oProxyCommand=pwned -J drawbridge-prod-db -p 5432 10.0.1.9',
          sshForward:
            'ssh -N -oLocalCommand=pwned -L 127.0.0.1:25432:10.0.1.9:5432 -p 2201 db-abc@127.0.0.1',
          sshConfig: `${honest(['  LocalForward 127.0.0.1:25432 10.0.1.9:5432', '  SessionType none', ...EVIL])}\n`,
        }),
  };
  return {
    id,
    status: 'READY',
    target,
    mode: 'local',
    owner: 'alice',
    sourceCidr: '203.0.113.9/32',
    reason: 'INC-1',
    durationMinutes: 30,
    createdAt: '2026-11-24T09:00:00.000Z',
    readyAt: '2026-11-24T09:00:05.000Z',
    expiresAt: '2099-11-24T09:30:05.000Z',
    recording: recorded ? 'full' : 'metadata',
    connection,
  };
}

const hostileApi = (body: unknown) =>
  (async () =>
    new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    })) as unknown as typeof fetch;

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'drawbridge-ssh-config-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const cli = (args: string[], body: unknown) =>
  runCli([...args, ...API], {
    env: { HOME: home, XDG_CONFIG_HOME: join(home, 'xdg') },
    cwd: home,
    fetch: hostileApi(body),
  });

/** The block under "For ~/.ssh/config:", as printed. */
const printedBlock = (stdout: string): string[] => {
  const after = stdout.split('For ~/.ssh/config:\n')[1] ?? '';
  return after.split('\n\n')[0]?.split('\n') ?? [];
};

describe('the ~/.ssh/config block the CLI prints', () => {
  for (const recorded of [true, false]) {
    const kind = recorded ? 'a recorded shell' : 'a forward';
    it(`never carries the API's extra directives (${kind}), in text or --json`, async () => {
      const shown = await cli(['show', id], view(recorded));
      expect(shown.code).toBe(0);
      const keyDir = join(home, 'xdg', 'drawbridge', 'keys', id);
      const block = printedBlock(shown.stdout);
      expect(block.slice(0, 4)).toEqual([
        '  Host drawbridge-prod-db',
        '    HostName 127.0.0.1',
        '    Port 2201',
        '    User db-abc',
      ]);
      expect(block).toContain(`    UserKnownHostsFile ${join(keyDir, 'known_hosts')}`);
      expect(block.at(-1)).toBe(recorded ? '    RequestTTY force' : '    SessionType none');
      const json = await cli(['show', id, '--json'], view(recorded));
      expect(json.code).toBe(0);
      const parsed = JSON.parse(json.stdout) as {
        connection: Record<string, string>;
        ssh: Record<string, string | string[]>;
      };
      expect(parsed.connection.sshConfig).toBe(parsed.ssh.config);
      // the ssh lines too are the CLI's own, built from the checked fields
      if (recorded) {
        expect(parsed.connection.sshShell).toMatch(/^ssh .*-tt .*db-abc@127\.0\.0\.1$/);
        expect(parsed.connection).not.toHaveProperty('sshJump');
      } else {
        expect(parsed.connection.sshJump).toMatch(/^ssh .*10\.0\.1\.9$/);
        expect(parsed.connection.sshForward).toMatch(/-L 127\.0\.0\.1:\d+:10\.0\.1\.9:5432/);
        expect(parsed.connection).not.toHaveProperty('sshShell');
      }
      for (const output of [shown.stdout, json.stdout]) {
        expect(output).not.toMatch(/pwned|LocalCommand|Include|Host \*|ProxyJump/);
      }
    });
  }

  it('gives a target name that is no policy name (a newline-smuggled directive) no place in it', async () => {
    const run = await cli(['show', id], view(true, 'prod-db\n  ProxyCommand sh -c pwned'));
    expect(run.code).toBe(0);
    const block = printedBlock(run.stdout);
    expect(block[0]).toBe(`  Host drawbridge-${id}`);
    expect(block.join('\n')).not.toContain('ProxyCommand');
    // Elsewhere the name is shown as text, its newline made visible: never a line of its own.
    expect(run.stdout).not.toMatch(/^\s*ProxyCommand/m);
  });

  it('refuses a bastion user or host with a directive in it before printing anything', async () => {
    for (const bastion of [
      { host: '127.0.0.1', port: 2201, user: 'db-abc\n  ProxyCommand sh -c pwned' },
      { host: '127.0.0.1\n  LocalCommand pwned', port: 2201, user: 'db-abc' },
    ]) {
      const hostile = view(true);
      const run = await cli(['show', id], {
        ...hostile,
        connection: { ...hostile.connection, bastion },
      });
      expect(run.code).not.toBe(0);
      expect(run.stdout).not.toMatch(/pwned|ProxyCommand|LocalCommand/);
    }
  });
});
