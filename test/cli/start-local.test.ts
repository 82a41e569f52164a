// npm start as a new user meets it (issue 13, items 8-10): a real process, its banner, its log.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLog, logFormat } from '../../lib/local/console-log.ts';
import { runCli } from '../support/cli.ts';

const REPO = resolve(import.meta.dirname, '../..');

let root: string;
let held: Server;
let heldPort: number;

async function hold(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return server;
}
const portOf = (server: Server): number => {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
};

/** Runs npm start's script until `until` is seen on stdout, or it exits. */
function start(env: Record<string, string>, until: string) {
  const child: ChildProcess = spawn(process.execPath, [join(REPO, 'scripts/start-local.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: root, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const ready = new Promise<{ code: number | null }>((done) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes(until)) done({ code: null });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (code) => done({ code }));
  });
  return {
    child,
    ready,
    output: () => ({ stdout, stderr }),
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

const cli = (args: string[], env: Record<string, string>) => runCli(args, { env, cwd: root });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-start-'));
  held = await hold();
  heldPort = portOf(held);
});

afterAll(async () => {
  await new Promise<void>((done) => held.close(() => done()));
  await rm(root, { recursive: true, force: true });
});

describe('npm start', () => {
  it('a taken API port is one line naming DRAWBRIDGE_PORT, not a stack trace', async () => {
    const run = start(
      {
        DRAWBRIDGE_PORT: String(heldPort),
        DRAWBRIDGE_DATA_DIR: join(root, 'taken'),
        DRAWBRIDGE_POLICY: join(REPO, 'policy/local.policy.yaml'),
      },
      'local mode is up',
    );
    const { code } = await run.ready;
    await run.stop();
    expect(code).toBe(1);
    const { stderr } = run.output();
    expect(stderr).toMatch(
      new RegExp(
        `^drawbridge: port ${heldPort} is taken [^\\n]*DRAWBRIDGE_PORT=\\d+ npm start\\n$`,
      ),
    );
  });

  it("with its own data dir and port, the banner's commands reach this instance; a taken demo port is said", async () => {
    const policy = join(root, 'policy.yaml');
    await writeFile(
      policy,
      [
        'version: 1',
        'adminGroup: drawbridge-admins',
        'quota: { activeSessionsPerUser: 2 }',
        'targets:',
        '  - name: demo',
        '    mode: local',
        '    host: 127.0.0.1',
        `    port: ${heldPort}`,
        '    allowedGroups: [dev]',
        '    defaultDurationMinutes: 15',
        '    maxDurationMinutes: 60',
        '',
      ].join('\n'),
    );
    const dataDir = join(root, 'custom data');
    const run = start(
      { DRAWBRIDGE_PORT: '0', DRAWBRIDGE_DATA_DIR: dataDir, DRAWBRIDGE_POLICY: policy },
      'Ctrl-D leaves',
    );
    try {
      const { code } = await run.ready;
      const { stdout, stderr } = run.output();
      expect(code, stderr).toBeNull();
      expect(stdout).toContain(`demo:       127.0.0.1:${heldPort} NOT STARTED: its port is taken`);
      const url = /API: +(http:\S+)/.exec(stdout)?.[1] ?? '';
      const login = /^ {2}(npx drawbridge login .*)$/m.exec(stdout)?.[1] ?? '';
      // The line as a shell reads it (the data dir has a space in it).
      const argv = execFileSync('sh', ['-c', `printf '%s\\0' ${login}`], { encoding: 'utf8' })
        .split('\0')
        .slice(2, -1);
      // A shell with none of npm start's environment: only what the banner says.
      const env = { HOME: root, XDG_CONFIG_HOME: join(root, 'xdg') };
      const signedIn = await cli([...argv, '--json'], env);
      expect(signedIn.stderr).toBe('');
      expect((JSON.parse(signedIn.stdout) as { apiUrl: string }).apiUrl).toBe(url);
      expect((await cli(['targets'], env)).stdout).toMatch(/^demo\s+local/m);
      expect(stdout).toContain(
        'npx drawbridge open demo --for 5m --reason "trying drawbridge" --connect --stdio',
      );
    } finally {
      await run.stop();
    }
  });
});

describe("npm start's log", () => {
  const at = new Date('2026-12-01T10:11:12Z');
  const lines = (format: 'pretty' | 'json') => {
    const out: string[] = [];
    const log = consoleLog(
      format,
      (line) => out.push(line),
      () => at,
    );
    log.logger.warn('notification', { notification: '[info] Drawbridge: session granted' });
    log.audit(
      JSON.stringify({
        level: 'INFO',
        message: 'audit REQUESTED',
        correlation_id: 's-0123456789abcdefghjk',
        audit: {
          sessionId: 's-0123456789abcdefghjk',
          seq: 1,
          at: at.getTime(),
          type: 'requested',
          actor: 'alice',
          status: 'REQUESTED',
          detail: { reason: 'look at it' },
        },
      }),
    );
    log.logger.info('sshd', {
      correlation_id: 's-0123456789abcdefghjk',
      sshd: 'Accepted \u001b[2J',
    });
    return out;
  };

  it('is readable lines on a terminal: times, levels from the notice itself, no JSON', () => {
    const [notice, audit, sshd] = lines('pretty');
    const time = at.toTimeString().slice(0, 8);
    expect(notice).toBe(
      `${time} INFO  notification severity=info subject="Drawbridge: session granted"`,
    );
    expect(audit).toBe(
      `${time} AUDIT s-0123456789abcdefghjk requested -> REQUESTED by alice reason="look at it"`,
    );
    expect(sshd).toBe(`${time} INFO  s-0123456789abcdefghjk sshd: Accepted ?[2J`);
  });

  it('is JSON with ISO times when piped or asked', () => {
    expect(logFormat(undefined, false)).toBe('json');
    expect(logFormat(undefined, true)).toBe('pretty');
    expect(logFormat('json', true)).toBe('json');
    const [notice, audit] = lines('json').map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    expect(notice).toMatchObject({ level: 'INFO', time: at.toISOString(), severity: 'info' });
    expect(audit).toMatchObject({ time: at.toISOString(), audit: { at: at.toISOString() } });
  });
});
