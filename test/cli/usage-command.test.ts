// drawbridge usage and drawbridge audit verify: rendering on fixed figures, then end to end
// against local mode with a real (short) sshd session.
import { appendFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_BROKEN_EXIT } from '../../cli/audit-command.ts';
import { bar, dayChart, renderUsage, shortDuration } from '../../cli/usage-command.ts';
import { defaultPricing } from '../../lib/domain/cost.ts';
import { UsageAccumulator, type UsageReport } from '../../lib/domain/usage.ts';
import {
  type LocalOrchestrator,
  startLocalOrchestrator,
} from '../../lib/local/local-orchestrator.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import { type CliRun, runCli } from '../support/cli.ts';
import { testPolicy } from '../support/fakes.ts';
import { ed25519PublicKey } from '../support/keys.ts';
import { apiClient, tempDir, writeLocalPolicy } from '../support/local-mode.ts';
import { makeSession } from '../support/sessions.ts';

function cli(args: string[], fetchFn?: typeof fetch): Promise<CliRun> {
  return runCli(args, {
    env: { HOME: '/nonexistent', DRAWBRIDGE_CONFIG: '/nonexistent/config.json' },
    cwd: '/',
    fetch: fetchFn,
  });
}

/** A fetch that answers every request with `body` and remembers the paths asked for. */
function answering(body: unknown, status = 200) {
  const paths: string[] = [];
  const fetchFn = (async (input: Parameters<typeof fetch>[0]) => {
    paths.push(String(input).replace('http://api.test', ''));
    return new Response(JSON.stringify(body), { status });
  }) as typeof fetch;
  return { fetchFn, paths };
}

const API = ['--api', 'http://api.test', '--token', 'a.b.c'];

function fixedReport(): UsageReport {
  const usage = new UsageAccumulator({
    window: {
      from: Date.parse('2026-11-01T00:00:00Z'),
      to: Date.parse('2026-11-04T00:00:00Z'),
      now: Date.parse('2026-11-10T00:00:00Z'),
    },
    groupBy: 'user',
    policy: testPolicy(),
    pricing: defaultPricing(),
    pricingSource: 'default',
  });
  const hour = 3_600_000;
  const session = (owner: string, ready: string, hours: number, overstay = 0) => {
    const readyAt = Date.parse(ready);
    return makeSession({
      owner,
      mode: 'ec2',
      createdAt: readyAt - 60_000,
      readyAt,
      expiresAt: readyAt + hours * hour - overstay * 1_000,
      endedAt: readyAt + hours * hour,
      status: 'ENDED',
      auditSeq: 6,
      resources: { instanceType: 't4g.nano' },
    });
  };
  usage.add(session('alice', '2026-11-01T10:00:00Z', 2, 45));
  usage.add(session('bob', '2026-11-03T10:00:00Z', 1));
  usage.add(session('\u001b[31mmallory', '2026-11-03T12:00:00Z', 0.5));
  return usage.report();
}

/** The fixed report plus two eice sessions, READY 0.8 s and 1.3 s after they were asked for. */
function withEice(): UsageReport {
  const usage = new UsageAccumulator({
    window: {
      from: Date.parse('2026-11-01T00:00:00Z'),
      to: Date.parse('2026-11-04T00:00:00Z'),
      now: Date.parse('2026-11-10T00:00:00Z'),
    },
    groupBy: 'user',
    policy: testPolicy(),
    pricing: defaultPricing(),
    pricingSource: 'default',
  });
  const base = Date.parse('2026-11-02T10:00:00Z');
  usage.add(
    makeSession({
      owner: 'alice',
      mode: 'ec2',
      createdAt: base - 41_000,
      readyAt: base,
      expiresAt: base + 3_600_000,
      endedAt: base + 3_600_000,
      status: 'ENDED',
      resources: { instanceType: 't4g.nano' },
    }),
  );
  for (const [offset, readyMs] of [
    [0, 800],
    [60_000, 1_300],
  ] as const) {
    usage.add(
      makeSession({
        owner: 'erin',
        mode: 'eice',
        createdAt: base + offset,
        readyAt: base + offset + readyMs,
        expiresAt: base + offset + 1_800_000,
        endedAt: base + offset + 1_800_000,
        status: 'ENDED',
      }),
    );
  }
  return usage.report();
}

describe('rendering', () => {
  it('prints the groups, the totals, and a bar chart of bastion-hours per day', () => {
    const text = renderUsage(fixedReport());
    expect(text).toContain('usage 2026-11-01T00:00:00.000Z to 2026-11-04T00:00:00.000Z, by user');
    expect(text).toMatch(/^USER\s+SESSIONS\s+BASTION-H\s+COST\s+OVERSTAY MAX$/m);
    expect(text).toMatch(/^alice\s+1\s+2\.00\s+\$0\.0184\s+45s$/m);
    expect(text).toMatch(/^total\s+3\s+3\.50\s+\$0\.0323\s+45s$/m);
    expect(text).toContain('overstay past the window: 3 sessions, p50 0s, p99 45s, max 45s');
    // the busiest day is full width, the others in proportion, an idle day has no bar
    expect(text).toContain(`2026-11-01 │${'█'.repeat(40)} 2.00`);
    expect(text).toContain(`2026-11-02 │${' '.repeat(40)} 0.00`);
    expect(text).toContain(`2026-11-03 │${'█'.repeat(30)}${' '.repeat(10)} 1.50`);
    // a name from a token cannot drive the terminal
    expect(text).not.toContain('\u001b');
    expect(text).toContain('?[31mmallory');
  });

  it('prints time to READY and instance cost per mode: eice its own, at no instance cost', () => {
    const text = renderUsage(withEice());
    expect(text).toContain('time to READY and instance cost by mode');
    expect(text).toMatch(/^MODE\s+SESSIONS\s+READY P50\s+READY P99\s+READY MAX\s+INSTANCES$/m);
    expect(text).toMatch(/^ec2\s+1\s+41s\s+41s\s+41s\s+\$0\.0092$/m);
    expect(text).toMatch(/^eice\s+2\s+0\.8s\s+1\.3s\s+1\.3s\s+\$0\.0000$/m);
    // an API from before per-mode figures: no such section
    expect(renderUsage({ ...withEice(), modes: [] })).not.toContain('by mode');
  });

  it('says so when there was no bastion time, and formats durations in their unit', () => {
    expect(dayChart([{ day: '2026-11-01', bastionSeconds: 0 }])).toBe(
      'no bastion time in this window\n',
    );
    expect([45, 200, 3_600, 7_500].map(shortDuration)).toEqual(['45s', '3m20s', '1h', '2h5m']);
  });

  it('property: a bar is never wider than the chart and grows with its value', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
        (a, b, max) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          expect([...bar(high, max)].length).toBeLessThanOrEqual(40);
          const cells = (text: string) =>
            [...text].reduce((sum, ch) => sum + (ch === '█' ? 8 : '▏▎▍▌▋▊▉'.indexOf(ch) + 1), 0);
          expect(cells(bar(low, max))).toBeLessThanOrEqual(cells(bar(high, max)));
        },
      ),
    );
  });
});

describe('drawbridge usage (against a fake API)', () => {
  it('is in the help, with its options and exit code 7 for a broken trail', async () => {
    const top = await cli(['--help']);
    expect(top.stdout).toContain('  usage ');
    expect(top.stdout).toContain('  audit ');
    expect(top.stdout).toMatch(
      /^ {2}7 {4}audit verify, replay, recording: the audit trail or the recording does not verify$/m,
    );
    for (const command of ['usage', 'audit']) {
      const help = await cli([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toContain(`drawbridge ${command}`);
      expect(help.stdout, command).toContain('--json');
    }
  });

  it('asks for the range and grouping, and prints CSV or JSON on request', async () => {
    const api = answering(fixedReport());
    const table = await cli(
      ['usage', '--from', '2026-11-01', '--to', '2026-11-03', '--group-by', 'day', ...API],
      api.fetchFn,
    );
    expect(table.code).toBe(0);
    expect(api.paths).toEqual(['/usage?from=2026-11-01&to=2026-11-03&groupBy=day']);
    const csv = await cli(['usage', '--csv', ...API], api.fetchFn);
    expect(csv.stdout.split('\r\n')[0]).toMatch(/^row,key,sessions,bastion_seconds,/);
    expect(csv.stdout).not.toContain('\u001b');
    const json = await cli(['usage', '--json', ...API], api.fetchFn);
    expect(JSON.parse(json.stdout)).toMatchObject({ groupBy: 'user', totals: { sessions: 3 } });
    const eice = await cli(['usage', ...API], answering(withEice()).fetchFn);
    expect(eice.stdout).toMatch(/^eice\s+2\s+0\.8s\s+1\.3s\s+1\.3s\s+\$0\.0000$/m);
    // an older API's report, without per-mode figures, still prints
    const { modes: _modes, ...older } = fixedReport();
    const old = await cli(['usage', ...API], answering(older).fetchFn);
    expect(old.code).toBe(0);
    expect(old.stdout).not.toContain('by mode');
  });

  it('refuses bad options before calling the API', async () => {
    const api = answering(fixedReport());
    for (const args of [
      ['usage', '--from', '2026-02-30'],
      ['usage', '--group-by', 'owner'],
      ['usage', '--csv', '--json'],
    ]) {
      const run = await cli([...args, ...API], api.fetchFn);
      expect(run.code, args.join(' ')).toBe(2);
    }
    expect(api.paths).toEqual([]);
  });
});

describe('drawbridge audit verify (against a fake API)', () => {
  const id = 's-0123456789abcdefghjk';

  it('exits 7 with where and why when the trail is broken', async () => {
    const api = answering({
      sessionId: id,
      intact: false,
      events: 5,
      expectedEvents: 6,
      brokenAt: 6,
      problem: 'the trail ends at event 5 but the session recorded 6: events were removed',
    });
    const run = await cli(['audit', 'verify', id, ...API], api.fetchFn);
    expect(run.code).toBe(AUDIT_BROKEN_EXIT);
    expect(run.stdout).toBe(
      `${id}: audit trail BROKEN at event 6: the trail ends at event 5 but the session recorded 6: events were removed\n`,
    );
    expect(api.paths).toEqual([`/sessions/${id}/audit`]);
  });

  it('refuses an unknown action (2) and an id that cannot be one (4) without calling', async () => {
    const api = answering({});
    expect((await cli(['audit', 'check', id, ...API], api.fetchFn)).code).toBe(2);
    expect((await cli(['audit', 'verify', '../etc', ...API], api.fetchFn)).code).toBe(4);
    expect(api.paths).toEqual([]);
  });
});

describe('end to end in local mode', () => {
  let orchestrator: LocalOrchestrator;
  let finops: string[];
  let sessionId: string;

  beforeAll(async () => {
    const dir = await tempDir('usage-cli');
    const policyFile = await writeLocalPolicy(dir, 7);
    await appendFile(policyFile, 'finopsGroup: finops\n');
    orchestrator = await startLocalOrchestrator({ dataDir: dir, policyFile, logger: silentLogger });
    const alice = apiClient(orchestrator.url, await orchestrator.signIn('alice'));
    const opened = await alice.open(ed25519PublicKey(), 5);
    sessionId = String(opened.body.id);
    await alice.waitFor(sessionId, ['READY'], 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await alice.end(sessionId);
    await alice.waitFor(sessionId, ['ENDED'], 20_000);
    const token = await orchestrator.signIn('fiona');
    finops = ['--api', orchestrator.url, '--token', token];
  }, 60_000);

  afterAll(async () => {
    await orchestrator?.stop();
  });

  it("reports alice's session to the finops group, and refuses alice herself", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const run = await cli(['usage', '--from', today, '--json', ...finops]);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as UsageReport;
    expect(report.groups.map((group) => group.key)).toEqual(['alice']);
    expect(report.totals.sessions).toBe(1);
    expect(report.totals.bastionSeconds).toBeGreaterThanOrEqual(1);
    // local mode has no instance to pay for
    expect(report.totals.cost.total).toBe(0);
    const chart = await cli(['usage', '--from', today, ...finops]);
    expect(chart.stdout).toContain('bastion-hours per day (UTC)');
    expect(chart.stdout).toContain(`${today} │`);

    const aliceToken = await orchestrator.signIn('alice');
    const refused = await cli(['usage', '--api', orchestrator.url, '--token', aliceToken]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('only members of the admin or finops group may read usage');
  });

  it('verifies the real trail of that session', async () => {
    const aliceToken = await orchestrator.signIn('alice');
    const run = await cli([
      'audit',
      'verify',
      sessionId,
      '--api',
      orchestrator.url,
      '--token',
      aliceToken,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^${sessionId}: audit trail intact \\(\\d+ events;`));
  });
});
