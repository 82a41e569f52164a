// The issue-5 commands end to end in-process: the CLI over HTTP to the local API host, which
// runs the very same handlers (httpRoutes) on the fakes of testWorld.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { httpRoutes } from '../../lib/composition/routes.ts';
import { startLocalApi } from '../../lib/local/local-api.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import { lifecycleWorld, MINUTE, open } from '../app/break-glass-world.ts';
import { runCli } from '../support/cli.ts';
import type { TestWorld } from '../support/fakes.ts';

let world: TestWorld;
let server: Server;
let url: string;
let root: string;

/** Tokens here are the claims themselves, base64url: the API host "verifies" by decoding. */
const token = (sub: string, groups: string[]) =>
  Buffer.from(
    JSON.stringify({
      sub,
      groups,
      amr: ['pwd', 'mfa'],
      auth_time: Math.floor(world.clock.now() / 1000),
    }),
  ).toString('base64url');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-cli-lifecycle-'));
  const api = await startLocalApi({
    routes: httpRoutes(() => ({ ...world.deps, groupsClaim: 'groups' })),
    verify: async (bearer) =>
      JSON.parse(Buffer.from(bearer, 'base64url').toString('utf8')) as Record<string, unknown>,
    logger: silentLogger,
  });
  server = api.server;
  url = api.url;
});

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  world = lifecycleWorld();
});
afterEach(() => {
  server.closeAllConnections();
});

function cli(who: [string, string[]], args: string[]) {
  return runCli([...args, '--api', url, '--token', token(...who)], {
    env: { HOME: root, XDG_CONFIG_HOME: join(root, 'config') },
    cwd: root,
  });
}

const alice: [string, string[]] = ['alice', ['dba', 'dev']];
const bob: [string, string[]] = ['bob', ['leads']];
const carol: [string, string[]] = ['carol', ['oncall']];
const erin: [string, string[]] = ['erin', ['drawbridge-admins']];

describe('drawbridge extend', () => {
  it('extends a READY session and refuses past the maximum with exit code 5', async () => {
    const { session } = await open(
      world,
      { subject: 'alice', groups: ['dev'], amr: ['mfa'], authTime: world.clock.now() },
      { target: 'demo', durationMinutes: 30 },
    );
    await provisionSession(world.deps, session.id);
    const ok = await cli(alice, [
      'extend',
      session.id,
      '--by',
      '15m',
      '--reason',
      'still debugging',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      new RegExp(`^${session.id} now expires at .*; extended by 15m in all\\n$`),
    );
    const stored = await world.store.get(session.id);
    expect(stored?.expiresAt).toBe((session.createdAt ?? 0) + 45 * MINUTE);

    const tooMuch = await cli(alice, ['extend', session.id, '--by', '1h', '--reason', 'more']);
    // A 400 is a request to change (a smaller --by), not a refusal to wait out: exit 2.
    expect(tooMuch.code).toBe(2);
    expect(tooMuch.stderr).toContain('at most 15 more');

    const usage = await cli(alice, ['extend', session.id, '--reason', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--by is required');
    const badBy = await cli(alice, ['extend', session.id, '--by', 'soon', '--reason', 'x']);
    expect(badBy.code).toBe(2);
  });
});

describe('drawbridge open --break-glass, approve, deny', () => {
  it('open --break-glass sends the incident and says the channel was alerted', async () => {
    // Provision as soon as it is queued: the local fake is READY at once, so open returns.
    world.deps.queue = {
      enqueue: async (id) => {
        await provisionSession(world.deps, id);
      },
    };
    const run = await cli(carol, [
      'open',
      'demo',
      '--break-glass',
      '--incident',
      'INC-123',
      '--reason',
      'db down',
      '--wait-timeout',
      '1m',
    ]);
    const [session] = world.store.sessions.values();
    expect(run.code).toBe(0);
    expect(session).toMatchObject({
      breakGlass: true,
      incidentId: 'INC-123',
      owner: 'carol',
      status: 'READY',
    });
    expect(run.stderr).toContain(
      'BREAK-GLASS INC-123: the security channel has been alerted; this session will be reviewed',
    );
    expect(world.notifier.sent.map((n) => n.kind)).toEqual(['break-glass', 'granted']);
  });

  it('--break-glass and --incident go together', async () => {
    expect((await cli(carol, ['open', 'prod-db', '--break-glass', '--reason', 'x'])).code).toBe(2);
    const alone = await cli(carol, ['open', 'prod-db', '--incident', 'INC-1', '--reason', 'x']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--incident goes with --break-glass');
    expect(world.store.sessions.size).toBe(0);
  });

  it('approve by an approver (the requester is refused with exit 3), deny with a comment', async () => {
    const requester = {
      subject: 'alice',
      groups: ['dba', 'leads'],
      amr: ['mfa'],
      authTime: world.clock.now(),
    };
    const first = (await open(world, requester, { target: 'payments' })).session;
    const own = await cli(['alice', ['dba', 'leads']], ['approve', first.id]);
    expect(own.code).toBe(3);
    expect(own.stderr).toContain('you cannot approve or deny your own request');
    const approved = await cli(bob, ['approve', first.id, '--comment', 'go']);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toBe(`approved ${first.id} for alice on payments: REQUESTED\n`);

    const bobRequester = {
      subject: 'dave',
      groups: ['dba'],
      amr: ['mfa'],
      authTime: world.clock.now(),
    };
    const second = (await open(world, bobRequester, { target: 'payments' })).session;
    const denied = await cli(bob, ['deny', second.id, '--comment', 'freeze', '--json']);
    expect(denied.code).toBe(0);
    expect(JSON.parse(denied.stdout)).toMatchObject({ status: 'ENDED', endReason: 'denied' });
  });
});

describe('drawbridge reviews / review', () => {
  it('lists open reviews for admins and closes one', async () => {
    const responder = {
      subject: 'carol',
      groups: ['oncall'],
      amr: ['mfa'],
      authTime: world.clock.now(),
    };
    const { session } = await open(world, responder, { breakGlass: true, incidentId: 'INC-7' });
    const listed = await cli(erin, ['reviews']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      /^SESSION +STATUS +WHO +TARGET +INCIDENT +WHEN +VERDICT +REASON$/m,
    );
    expect(listed.stdout).toMatch(new RegExp(`^${session.id} +open +carol +prod-db +INC-7 `, 'm'));
    const refused = await cli(carol, ['reviews']);
    expect(refused.code).toBe(3);
    const closed = await cli(erin, [
      'review',
      session.id,
      '--verdict',
      'appropriate',
      '--comment',
      'outage',
    ]);
    expect(closed.code).toBe(0);
    expect(closed.stdout).toBe(`review of ${session.id} (INC-7) closed: appropriate\n`);
    const none = await cli(erin, ['reviews', '--status', 'open']);
    expect(none.stdout).toBe('no open reviews\n');
    const bad = await cli(erin, ['review', session.id, '--verdict', 'fine', '--comment', 'x']);
    expect(bad.code).toBe(2);
  });
});
