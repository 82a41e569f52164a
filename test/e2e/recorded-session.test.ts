import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalOrchestrator,
  startLocalOrchestrator,
} from '../../lib/local/local-orchestrator.ts';
import { SshdProvider } from '../../lib/local/sshd-provider.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import { apiClient, tempDir } from '../support/local-mode.ts';
import { openRecordedSession, recordedShell, runAndExit } from '../support/recorded-session.ts';
import { type ClientKey, type EchoServer, makeClientKey, startEchoServer } from '../support/ssh.ts';

/**
 * Recorded sessions through local mode, end to end (issue 12): the orchestrator over HTTP, a
 * real sshd running the real recorder as its forced command, a real `ssh -tt`, the CLI as a
 * real process. What was done on the bastion can be read back, replayed and verified by those
 * allowed, and an idle terminal is closed and ends its session.
 */
const execFileAsync = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
/** A policy minute of idleTimeoutMinutes lasts this many seconds on these bastions. */
const IDLE_SECONDS_PER_MINUTE = 3;

let orchestrator: LocalOrchestrator;
let target: EchoServer;
let key: ClientKey;
let dataDir: string;
const clients: Record<string, ReturnType<typeof apiClient>> = {};
const tokens: Record<string, string> = {};

async function writePolicy(dir: string, port: number): Promise<string> {
  const file = join(dir, 'policy.yaml');
  const recorded = (name: string, extra = '') => `  - name: ${name}
    mode: local
    host: 127.0.0.1
    port: ${port}
    allowedGroups: [dev]
    defaultDurationMinutes: 10
    maxDurationMinutes: 60
    access: shell
    recording: full
${extra}`;
  await writeFile(
    file,
    `version: 1
adminGroup: drawbridge-admins
auditorGroups: [auditors]
quota:
  activeSessionsPerUser: 5
provisioningDeadlineMinutes: 2
selfDestructGraceMinutes: 1
targets:
${recorded('shell')}${recorded('shell-idle', '    idleTimeoutMinutes: 1\n')}${recorded(
  'shell-idle-stays',
  '    idleTimeoutMinutes: 1\n    idleEndsSession: false\n',
)}`,
  );
  return file;
}

beforeAll(async () => {
  dataDir = await tempDir('recorded');
  target = await startEchoServer();
  key = await makeClientKey(dataDir);
  orchestrator = await startLocalOrchestrator({
    dataDir,
    policyFile: await writePolicy(dataDir, target.port),
    logger: silentLogger,
    users: [
      { name: 'alice', password: 'a', groups: ['dev'] },
      { name: 'bob', password: 'b', groups: ['dev'] },
      { name: 'erin', password: 'e', groups: ['auditors'] },
      { name: 'dave', password: 'd', groups: ['drawbridge-admins'] },
    ],
    reapIntervalMs: 60_000,
    watchIntervalMs: 250,
    idleSecondsPerMinute: IDLE_SECONDS_PER_MINUTE,
    // The login profile of whoever runs the tests may take seconds; the recorder is the same.
    recordedShell: '/bin/sh',
  });
  for (const who of ['alice', 'bob', 'erin', 'dave']) {
    tokens[who] = await orchestrator.signIn(who);
    clients[who] = apiClient(orchestrator.url, tokens[who] ?? '');
  }
}, 60_000);

afterAll(async () => {
  await orchestrator?.stop();
  await target?.close();
  const provider = new SshdProvider({ dataDir });
  for (const resource of await provider.listOwned()) await provider.destroy(resource);
});

const client = (who: string) => {
  const found = clients[who];
  if (!found) throw new Error(`no client for ${who}`);
  return found;
};

/** GET /sessions/{id}/recording as this person, the body as text. */
async function recording(who: string, id: string, format?: 'text') {
  const response = await fetch(
    `${orchestrator.url}/sessions/${id}/recording${format ? '?format=text' : ''}`,
    { headers: { authorization: `Bearer ${tokens[who]}` } },
  );
  return {
    status: response.status,
    verdict: response.headers.get('drawbridge-recording'),
    body: await response.text(),
  };
}

/** The `drawbridge` command as an engineer runs it, signed in as this person. */
async function drawbridge(who: string, args: string[]) {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [`${REPO}/bin/drawbridge.mjs`, ...args],
      {
        cwd: dataDir,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dataDir,
          DRAWBRIDGE_API_URL: orchestrator.url,
          DRAWBRIDGE_TOKEN: tokens[who] ?? '',
        },
        timeout: 20_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

type Event = { type: string; actor: string; detail?: Record<string, unknown> };
const eventsOf = async (id: string): Promise<Event[]> =>
  (await client('alice').events(id)).body.items as Event[];

const COMMANDS_OUTPUT = ['first-42', 'second-55', 'third-66'];

/** Where each command's output first shows in the text: all present, in the order typed. */
function expectInOrder(text: string): void {
  const at = COMMANDS_OUTPUT.map((needle) => text.indexOf(needle));
  expect(
    at.every((position) => position > -1),
    text,
  ).toBe(true);
  expect(at, text).toEqual([...at].sort((a, b) => a - b));
}

// Real processes on a loaded two-core machine: generous limits, nothing waits on a fixed sleep.
describe('a recorded session through local mode', { timeout: 45_000 }, () => {
  let recordedId = '';

  it('keeps what was done: the owner reads it in order (asciicast and text), replays it with the CLI, and it verifies', async () => {
    const session = await openRecordedSession(client('alice'), 'shell', key.publicKey);
    recordedId = session.id;
    const shell = await recordedShell(session, key.privateKeyPath, dataDir);
    const started = Date.now();
    const seen = await runAndExit(shell, [
      { command: 'echo first-$((40+2))', output: /first-42/ },
      { command: 'echo second-$((50+5))', output: /second-55/ },
      { command: 'printf "third-%s\\n" $((60+6))', output: /third-66/ },
    ]);
    const ended = await client('alice').end(session.id);
    expect(ended.body).toMatchObject({ status: 'ENDED', endReason: 'revoked' });

    const cast = await recording('alice', session.id);
    expect(cast.status).toBe(200);
    expect(cast.verdict).toBe('intact');
    const [header, ...events] = cast.body.trim().split('\n');
    expect(JSON.parse(header ?? '{}')).toMatchObject({ version: 2 });
    const output = events
      .map((line) => JSON.parse(line) as [number, string, string])
      .filter(([, code]) => code === 'o')
      .map(([, , data]) => data)
      .join('');
    expectInOrder(output);

    // The text form stamps each output line with the wall-clock time it was shown.
    const text = await recording('alice', session.id, 'text');
    expect(text.status).toBe(200);
    const lines = text.body.split('\n');
    expectInOrder(text.body);
    for (const [index, word] of COMMANDS_OUTPUT.entries()) {
      // Typed ahead of the prompt, a command's output may share its line with the prompt.
      const line = lines.find((candidate) => candidate.endsWith(word));
      expect(line, `${word} in\n${text.body}`).toBeDefined();
      const at = Date.parse(line?.split(' ')[0] ?? '');
      expect(at).toBeGreaterThanOrEqual(started - 1_000);
      expect(at).toBeLessThanOrEqual((seen[index] ?? 0) + 1_000);
    }

    const [replay, verify] = await Promise.all([
      drawbridge('alice', ['replay', session.id, '--speed', '100', '--idle-limit', '0.1']),
      drawbridge('alice', ['audit', 'verify', session.id]),
    ]);
    expect(replay.code).toBe(0);
    expect(replay.stderr).not.toContain('does not verify');
    expectInOrder(replay.stdout);
    // Both reads and the replay are in the trail, as alice's.
    const viewed = (await eventsOf(session.id)).filter((e) => e.type === 'recording-viewed');
    expect(viewed.map((e) => [e.actor, e.detail?.format])).toEqual([
      ['alice', 'asciicast'],
      ['alice', 'text'],
      ['alice', 'asciicast'],
    ]);

    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`${session.id}: audit trail intact`);
    expect(verify.stdout).toMatch(
      new RegExp(`${session.id}: recording intact \\(\\d+ chunks; every hash and link checks out`),
    );
  });

  it('lets the owner, an auditor and an admin replay it, tells anyone else 404, and audits each replay', async () => {
    expect(recordedId).not.toBe('');
    const before = (await eventsOf(recordedId)).filter((e) => e.type === 'recording-viewed');
    const bobReplays = drawbridge('bob', ['replay', recordedId]);
    for (const who of ['alice', 'erin', 'dave']) {
      const seen = await recording(who, recordedId);
      expect(seen.status, who).toBe(200);
      expect(seen.body, who).toContain('second-55');
    }
    const refused = await recording('bob', recordedId);
    expect(refused.status).toBe(404);
    expect(refused.body).not.toContain('second-55');
    const asBob = await bobReplays;
    expect(asBob.code).toBe(4);
    expect(asBob.stdout).not.toContain('second-55');

    const viewed = (await eventsOf(recordedId)).filter((e) => e.type === 'recording-viewed');
    expect(viewed.slice(before.length).map((e) => e.actor)).toEqual(['alice', 'erin', 'dave']);
    expect(viewed.map((e) => e.actor)).not.toContain('bob');
    expect(viewed.at(-1)?.detail).toMatchObject({ format: 'asciicast', intact: true });
  });
});

describe('drawbridge open --connect on a recorded target', { timeout: 45_000 }, () => {
  it('says the session is recorded, runs ssh -tt into the recorder with the pinned host key, and ends the session on exit', async () => {
    const cli = spawn(
      process.execPath,
      [
        `${REPO}/bin/drawbridge.mjs`,
        'open',
        'shell',
        '--reason',
        'open --connect, recorded',
        '--connect',
      ],
      {
        cwd: dataDir,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dataDir,
          DRAWBRIDGE_API_URL: orchestrator.url,
          DRAWBRIDGE_TOKEN: tokens.alice ?? '',
        },
        stdio: 'pipe',
      },
    );
    let stdout = '';
    let stderr = '';
    cli.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    cli.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((done) => cli.once('close', done));
    // Typed ahead, as a hurried engineer would; stdin stays open until the shell has answered.
    cli.stdin.write('echo via-open-$((3+4))\r');
    await expect.poll(() => stdout, { timeout: 30_000, interval: 100 }).toMatch(/via-open-7/);
    cli.stdin.write('exit\r');
    expect(await exited, `${stdout}\n${stderr}`).toBe(0);

    expect(stdout).toContain('This session is recorded (terminal output; not what you type)');
    expect(stdout).toMatch(/Shell on the bastion \(recorded\):\n {2}ssh -tt /);
    expect(stderr).toContain('opening the recorded shell on the bastion');
    const id = /(s-[0-9a-z]+) is READY/.exec(stdout)?.[1] ?? '';
    expect(id).not.toBe('');
    // Leaving the shell ended the session; what the shell showed is in its recording.
    expect((await client('alice').get(id)).body).toMatchObject({ status: 'ENDED' });
    const text = await recording('alice', id, 'text');
    expect(text.verdict).toBe('intact');
    expect(text.body).toContain('via-open-7');
  });
});

// The two idle targets are watched side by side: each waits on a real recorder's timer.
describe('an idle recorded terminal', { timeout: 45_000, concurrent: true }, () => {
  it('is closed, said so on screen, in the recording and the trail, and its session ends (idle)', async ({
    expect,
  }) => {
    const session = await openRecordedSession(client('alice'), 'shell-idle', key.publicKey);
    const shell = await recordedShell(session, key.privateKeyPath, dataDir);
    shell.send('echo awake-$((1+1))\r');
    await shell.waitFor(/awake-2/);
    // No keystroke from here on.
    await shell.waitFor(
      new RegExp(`no activity for ${IDLE_SECONDS_PER_MINUTE} seconds: connection closed`),
    );
    await shell.exited;

    const ended = await client('alice').waitFor(session.id, ['ENDED'], 15_000);
    expect(ended.body.endReason).toBe('idle');
    const idle = (await eventsOf(session.id)).find((e) => e.type === 'idle-disconnected');
    expect(idle).toMatchObject({
      actor: 'drawbridge',
      detail: { endsSession: true, idleMinutes: 1 },
    });
    const text = await recording('alice', session.id, 'text');
    expect(text.body).toContain('[drawbridge] no activity');
    expect(text.body).toMatch(/# connection closed: idle/);
  });

  it('with idleEndsSession: false is closed alone; the session stays READY', async ({ expect }) => {
    const session = await openRecordedSession(client('alice'), 'shell-idle-stays', key.publicKey);
    const shell = await recordedShell(session, key.privateKeyPath, dataDir);
    await shell.waitFor(/no activity for \d+ seconds: connection closed/);
    await shell.exited;
    await expect
      .poll(async () => (await eventsOf(session.id)).find((e) => e.type === 'idle-disconnected'), {
        timeout: 10_000,
      })
      .toMatchObject({ detail: { endsSession: false } });
    expect((await client('alice').get(session.id)).body.status).toBe('READY');
    // The window runs on: its bastion still serves the session.
    const owned = await new SshdProvider({ dataDir }).listOwned();
    expect(owned.map((resource) => resource.sessionId)).toContain(session.id);
  });
});
