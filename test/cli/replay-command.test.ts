// drawbridge replay / recording, and audit verify's recording line, against a fake API.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_BROKEN_EXIT } from '../../cli/audit-command.ts';
import { type CliRun, runCli } from '../support/cli.ts';

const id = 's-0123456789abcdefghjk';
const API = ['--api', 'http://api.test', '--token', 'a.b.c'];

const CAST = [
  JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1795510800 }),
  JSON.stringify([0.5, 'o', '$ uptime\r\n']),
  JSON.stringify([1.5, 'o', 'up 3 days\r\n']),
  // an hour of nothing: capped by --idle-limit
  JSON.stringify([3601.5, 'o', '$ exit\r\n']),
  JSON.stringify([3602, 'm', 'connection closed: exit']),
  '',
].join('\n');

interface Run extends CliRun {
  pauses: number[];
}

async function cli(args: string[], fetchFn: typeof fetch, cwd = '/'): Promise<Run> {
  const pauses: number[] = [];
  const run = await runCli(args, {
    env: { HOME: '/nonexistent', DRAWBRIDGE_CONFIG: '/nonexistent/config.json' },
    cwd,
    fetch: fetchFn,
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
  return { ...run, pauses };
}

function answering(body: string, headers: Record<string, string> = {}, status = 200) {
  const requests: { path: string; accept: string }[] = [];
  const fetchFn = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    requests.push({
      path: String(input).replace('http://api.test', ''),
      accept: String((init?.headers as Record<string, string> | undefined)?.accept),
    });
    return new Response(body, { status, headers });
  }) as typeof fetch;
  return { fetchFn, requests };
}

const intact = { 'drawbridge-recording': 'intact', 'drawbridge-recording-kind': 'chunks' };

describe('drawbridge replay', () => {
  it('writes the output with its timing, speed-scaled, no pause over the idle limit', async () => {
    const api = answering(CAST, intact);
    const run = await cli(['replay', id, '--speed', '2', '--idle-limit', '3', ...API], api.fetchFn);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('$ uptime\r\nup 3 days\r\n$ exit\r\n');
    expect(run.stderr).toContain('[drawbridge] connection closed: exit');
    // 0.5 s, 1 s, 3600 s capped at 3 s, 0.5 s; all halved.
    expect(run.pauses).toEqual([250, 500, 1500, 250]);
    expect(api.requests).toEqual([
      { path: `/sessions/${id}/recording`, accept: 'application/x-asciicast' },
    ]);
  });

  it('plays what there is, says the recording does not verify, and exits 7', async () => {
    const api = answering(CAST, { 'drawbridge-recording': 'truncated' });
    const run = await cli(['replay', id, ...API], api.fetchFn);
    expect(run.code).toBe(AUDIT_BROKEN_EXIT);
    expect(run.stdout).toContain('up 3 days');
    expect(run.stderr).toContain('the recording does not verify (truncated)');
  });

  it('says when it played only the beginning of a recording too long to read whole, and exits 7', async () => {
    const api = answering(CAST, { 'drawbridge-recording': 'partial' });
    const run = await cli(['replay', id, ...API], api.fetchFn);
    expect(run.code).toBe(AUDIT_BROKEN_EXIT);
    expect(run.stdout).toContain('up 3 days');
    expect(run.stderr).toContain('only the beginning of the recording');
    expect(run.stderr).not.toContain('does not verify (partial)');
  });

  it('says plainly when a session was not recorded and these are its connections', async () => {
    const api = answering(CAST, { 'drawbridge-recording-kind': 'connections' });
    const run = await cli(['replay', id, ...API], api.fetchFn);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('was not recorded (jump-only)');
  });

  it('refuses a bad --speed (2) and an id that cannot be one (4) without calling; 404 is 4', async () => {
    const api = answering(CAST, intact);
    expect((await cli(['replay', id, '--speed', '0', ...API], api.fetchFn)).code).toBe(2);
    expect((await cli(['replay', id, '--idle-limit', 'x', ...API], api.fetchFn)).code).toBe(2);
    expect((await cli(['replay', '../etc', ...API], api.fetchFn)).code).toBe(4);
    expect(api.requests).toEqual([]);
    const missing = answering(
      JSON.stringify({ error: { code: 'not_found', message: 'no such session' } }),
      {},
      404,
    );
    expect((await cli(['replay', id, ...API], missing.fetchFn)).code).toBe(4);
  });
});

describe('drawbridge recording', () => {
  it('exports asciicast to --out, and text with --text to stdout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drawbridge-export-'));
    const api = answering(CAST, intact);
    const run = await cli(['recording', id, '--out', 'session.cast', ...API], api.fetchFn, dir);
    expect(run.code).toBe(0);
    expect(await readFile(join(dir, 'session.cast'), 'utf8')).toBe(CAST);
    expect(run.stderr).toContain(`recording written to ${join(dir, 'session.cast')}`);

    const text = answering('2026-11-24T09:00:01.000Z  up 3 days\n', intact);
    const plain = await cli(['recording', id, '--text', ...API], text.fetchFn);
    expect(plain.stdout).toBe('2026-11-24T09:00:01.000Z  up 3 days\n');
    expect(text.requests[0]).toEqual({
      path: `/sessions/${id}/recording?format=text`,
      accept: 'text/plain',
    });
  });
});

describe("drawbridge audit verify: the recording's verdict", () => {
  const trail = { sessionId: id, events: 6, expectedEvents: 6 };
  const verify = (body: unknown) =>
    cli(['audit', 'verify', id, ...API], answering(JSON.stringify(body)).fetchFn);

  it('prints both verdicts and exits 7 when only the recording is broken', async () => {
    const run = await verify({
      ...trail,
      intact: false,
      recording: {
        intact: false,
        chunks: 3,
        complete: false,
        headStored: true,
        problem: 'truncated',
        detail: 'the recording ends at chunk 3 but the session recorded 5: it was cut short',
      },
    });
    expect(run.code).toBe(AUDIT_BROKEN_EXIT);
    expect(run.stdout).toBe(
      `${id}: audit trail intact (6 events; every hash, link and the recorded head check out)\n` +
        `${id}: recording BROKEN (truncated): the recording ends at chunk 3 but the session recorded 5: it was cut short\n`,
    );
  });

  it('says a recording too long to read whole is not verified in full, not broken, and exits 7', async () => {
    const run = await verify({
      ...trail,
      intact: false,
      recording: {
        intact: false,
        chunks: 3,
        complete: false,
        headStored: true,
        ending: 'partial',
        problem: 'partial',
        detail: 'only the first 3 chunks could be read here',
      },
    });
    expect(run.code).toBe(AUDIT_BROKEN_EXIT);
    expect(run.stdout).toContain(`${id}: audit trail intact`);
    expect(run.stdout).toContain(
      `${id}: recording NOT VERIFIED IN FULL: it is too long to read here whole; only the first 3 chunks could be read here\n`,
    );
    expect(run.stdout).not.toContain('BROKEN');
  });

  it('says a recording whose session stored no head is not verifiable, not broken, and exits 7', async () => {
    const run = await verify({
      ...trail,
      intact: false,
      recording: {
        intact: false,
        chunks: 4,
        complete: true,
        headStored: false,
        ending: 'unknown',
        problem: 'unsealed',
        detail: 'the session stored no head for its recording',
      },
    });
    expect(run.code).toBe(AUDIT_BROKEN_EXIT);
    expect(run.stdout).toContain(
      `${id}: recording NOT VERIFIABLE: the session stored no head for its recording\n`,
    );
    expect(run.stdout).not.toContain('BROKEN');
  });

  it('says intact for both, and exits 0', async () => {
    const run = await verify({
      ...trail,
      intact: true,
      recording: { intact: true, chunks: 5, complete: true, headStored: true },
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${id}: recording intact (5 chunks;`);
  });

  it('says when the bastion went before its recorder closed the recording, without calling it broken', async () => {
    const run = await verify({
      ...trail,
      intact: true,
      recording: {
        intact: true,
        chunks: 4,
        complete: false,
        headStored: true,
        ending: 'cut-short',
      },
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${id}: recording intact (4 chunks;`);
    expect(run.stdout).toContain('CUT SHORT: the bastion went before its recorder closed');
  });

  it('says when the recording is still settling, and until when', async () => {
    const run = await verify({
      ...trail,
      intact: true,
      recording: {
        intact: true,
        chunks: 4,
        complete: false,
        headStored: false,
        ending: 'settling',
        settledBy: Date.UTC(2026, 10, 24, 9, 35),
      },
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('its last chunks may still be on their way');
    expect(run.stdout).toContain('stored by 2026-11-24T09:35:00.000Z');
  });
});

describe('targets, show and open say plainly when a session is recorded', () => {
  it('targets has a RECORDED column: YES for the terminal, connections for jump-only', async () => {
    const item = (name: string, recording: string, access: string) => ({
      name,
      mode: 'ec2',
      access,
      recording,
      defaultDurationMinutes: 30,
      maxDurationMinutes: 60,
    });
    const api = answering(
      JSON.stringify({
        items: [item('prod-shell', 'full', 'shell'), item('prod-db', 'metadata', 'jump-only')],
      }),
    );
    const run = await cli(['targets', ...API], api.fetchFn);
    const [header, shell, db] = run.stdout.trim().split('\n');
    expect(header).toMatch(/^TARGET\s+MODE\s+ACCESS\s+RECORDED\s/);
    expect(shell).toMatch(/^prod-shell\s+ec2\s+shell\s+YES: terminal\s+30m/);
    expect(db).toMatch(/^prod-db\s+ec2\s+jump-only\s+connections\s+30m/);
  });

  const view = (recording: string) =>
    JSON.stringify({
      id,
      status: 'ENDED',
      target: 'prod-shell',
      mode: 'ec2',
      owner: 'alice',
      sourceCidr: '203.0.113.9/32',
      reason: 'INC-1',
      durationMinutes: 30,
      createdAt: '2026-11-24T09:00:00.000Z',
      recording,
    });

  it('show says a recorded session is recorded, and how to replay it; not for jump-only', async () => {
    const recorded = await cli(['show', id, ...API], answering(view('full')).fetchFn);
    expect(recorded.stdout).toContain(
      `  recorded   yes: everything shown in its terminal is kept (drawbridge replay ${id})`,
    );
    const jump = await cli(['show', id, ...API], answering(view('metadata')).fetchFn);
    expect(jump.stdout).not.toContain('recorded');
  });

  it('open announces a recorded session before waiting for it', async () => {
    const { announceRequest } = await import('../../cli/extend-command.ts');
    const { Context } = await import('../../cli/context.ts');
    let stderr = '';
    const context = new Context(
      {
        stdout: () => {},
        stderr: (text) => {
          stderr += text;
        },
        env: { HOME: '/nonexistent' },
        isTTY: false,
        cwd: '/',
      },
      {},
      [],
    );
    announceRequest(context, JSON.parse(view('full')));
    expect(stderr).toContain(`${id} is RECORDED: everything shown in its terminal is kept`);
    stderr = '';
    announceRequest(context, JSON.parse(view('metadata')));
    expect(stderr).toBe('');
  });
});
