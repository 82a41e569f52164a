import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { createUsageHandler } from '../../functions/usage.ts';
import type { AppDeps } from '../../lib/app/deps.ts';
import { onInstanceState } from '../../lib/app/observe-bastion.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { reap } from '../../lib/app/reap.ts';
import { requestSession } from '../../lib/app/request-session.ts';
import { revokeSession } from '../../lib/app/revoke-session.ts';
import { slices, usageReport } from '../../lib/app/usage.ts';
import { ForbiddenError, ProvisioningError } from '../../lib/domain/errors.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Identity, Session } from '../../lib/domain/session.ts';
import { maxSessionSpanMs } from '../../lib/domain/usage.ts';
import { httpEvent, lambdaContext } from '../support/events.ts';
import { TEST_POLICY_YAML, type TestWorld, testWorld } from '../support/fakes.ts';
import { ed25519PublicKey } from '../support/keys.ts';
import { proveReady } from '../support/readiness.ts';
import { RecordingMetrics } from '../support/recording-metrics.ts';
import { makeSession } from '../support/sessions.ts';

const SECOND = 1_000;
const MINUTE = 60_000;
const alice: Identity = { subject: 'alice', groups: ['dba'] };
const admin: Identity = { subject: 'root', groups: ['drawbridge-admins'] };
const fiona: Identity = { subject: 'fiona', groups: ['finops'] };

let world: TestWorld;
let metrics: RecordingMetrics;
let deps: AppDeps;

beforeEach(() => {
  world = testWorld(parsePolicy(`${TEST_POLICY_YAML}finopsGroup: finops\n`));
  metrics = new RecordingMetrics();
  deps = { ...world.deps, metrics };
});

/** Request, provision and bring an ec2 session to READY `secondsToReady` later. */
async function readySession(secondsToReady = 40): Promise<Session> {
  const { session } = await requestSession(deps, {
    identity: alice,
    sourceIp: '203.0.113.9',
    request: {
      target: 'prod-db',
      durationMinutes: 30,
      reason: 'INC-7',
      publicKey: ed25519PublicKey(),
    },
  });
  const provisioning = await provisionSession(deps, session.id);
  const instanceId = provisioning?.resources.instanceId ?? '';
  const bastion = world.ec2.running.get(instanceId);
  if (bastion) bastion.state = 'running';
  world.clock.advance(secondsToReady * SECOND);
  await onInstanceState(deps, instanceId, 'running');
  const ready = await proveReady(deps, session.id);
  if (ready?.status !== 'READY') throw new Error('not ready');
  return ready;
}

const wholeDay = (session: Session) => ({
  from: session.createdAt - (session.createdAt % 86_400_000),
  to: session.createdAt - (session.createdAt % 86_400_000) + 86_400_000,
});

describe('who may read usage', () => {
  it('admins and the finops group; anyone else is refused', async () => {
    const window = {
      from: world.clock.now() - 86_400_000,
      to: world.clock.now(),
      groupBy: 'user' as const,
    };
    await expect(usageReport(deps, alice, window)).rejects.toThrow(ForbiddenError);
    await expect(usageReport(deps, admin, window)).resolves.toMatchObject({ groupBy: 'user' });
    await expect(usageReport(deps, fiona, window)).resolves.toMatchObject({ groupBy: 'user' });
  });
});

describe('a session from request to end, in the report and the metrics', () => {
  it('emits requested, ready and time to ready, then appears with its bastion time', async () => {
    const ready = await readySession(40);
    expect(metrics.values('SessionsRequested')).toEqual([1]);
    expect(metrics.values('SessionsReady')).toEqual([1]);
    expect(metrics.values('TimeToReady')).toEqual([40]);

    world.clock.advance(10 * MINUTE);
    await revokeSession(deps, alice, ready.id);
    world.clock.advance(MINUTE);
    const report = await usageReport(deps, fiona, { ...wholeDay(ready), groupBy: 'user' });
    expect(report.groups.map((group) => group.key)).toEqual(['alice']);
    expect(report.totals.sessions).toBe(1);
    expect(report.totals.bastionSeconds).toBe(600);
    // 600 s of t4g.nano at $0.0042/h
    expect(report.totals.cost.instances).toBe(0.0007);
    // ended before its window: no overstay, in the report or the metric
    expect(report.totals.overstay.sessions).toBe(0);
    expect(metrics.values('OverstaySeconds')).toEqual([]);
  });

  it('counts provisioning failures', async () => {
    world.ec2.failLaunch = new ProvisioningError('no capacity');
    const { session } = await requestSession(deps, {
      identity: alice,
      sourceIp: '203.0.113.9',
      request: { target: 'prod-db', reason: 'INC-8', publicKey: ed25519PublicKey() },
    });
    const failed = await provisionSession(deps, session.id);
    expect(failed?.status).toBe('FAILED');
    expect(metrics.values('ProvisioningFailures')).toEqual([1]);
  });
});

describe('overstay when the scheduled end never fires', () => {
  it('shows the seconds between expiresAt and the reaper ending the bastion', async () => {
    world.scheduler.failSchedule = new Error('EventBridge Scheduler is down');
    const ready = await readySession();
    expect(world.scheduler.schedules.size).toBe(0);
    const expiresAt = ready.expiresAt ?? 0;

    // The reaper's minute comes round 45 s after the window ended.
    world.clock.current = expiresAt + 45 * SECOND;
    const sweep = await reap(deps);
    expect(sweep.expired).toBe(1);
    expect(sweep.oldestOverdueSeconds).toBe(45);
    const ended = await world.store.get(ready.id);
    expect(ended?.status).toBe('ENDED');
    expect(ended?.endedAt).toBe(expiresAt + 45 * SECOND);

    expect(metrics.values('OverstaySeconds')).toEqual([45]);
    expect(metrics.values('OldestOverdueSeconds')).toEqual([45]);
    const report = await usageReport(deps, admin, { ...wholeDay(ready), groupBy: 'day' });
    expect(report.totals.overstay).toEqual({
      sessions: 1,
      p50Seconds: 45,
      p99Seconds: 45,
      maxSeconds: 45,
    });
    expect(report.reaper.endedAfterMissedSchedule).toBe(1);
    // bastion time runs to the end: 30 min window plus the 45 s overstay
    expect(report.totals.bastionSeconds).toBe(1_845);
  });
});

describe('the reaper in the report and the metrics', () => {
  it('records orphans found and reaped per day, and what is still running', async () => {
    const ready = await readySession();
    world.ec2.running.set('i-0000000000000dead', {
      sessionId: 's-gonegonegonegonegone',
      state: 'running',
    });
    const sweep = await reap(deps);
    expect(sweep).toMatchObject({
      orphanBastionsFound: 1,
      orphanBastionsReaped: 1,
      activeBastions: 1,
    });
    expect(metrics.values('OrphansReaped')).toEqual([1]);
    expect(metrics.values('ActiveBastions')).toEqual([1]);
    expect(metrics.values('OldestOverdueSeconds')).toEqual([0]);

    await reap(deps); // nothing found: no record, but the metrics still go out
    expect(metrics.values('OrphansReaped')).toEqual([1, 0]);
    const report = await usageReport(deps, admin, { ...wholeDay(ready), groupBy: 'target' });
    expect(report.orphans).toEqual({ found: 1, reaped: 1, sweeps: 1 });
  });
});

describe('reading by time range', () => {
  it('reads only sessions created in the window or early enough to still run in it', async () => {
    const from = world.clock.now();
    const span = maxSessionSpanMs(deps.policy);
    const make = (createdAt: number, minutes: number) =>
      makeSession({
        createdAt,
        mode: 'ec2',
        status: 'ENDED',
        readyAt: createdAt + MINUTE,
        expiresAt: createdAt + (1 + minutes) * MINUTE,
        endedAt: createdAt + (1 + minutes) * MINUTE,
        resources: { instanceType: 't4g.nano' },
      });
    // started 2 h before `from`, still running 10 minutes into it (within the span)
    const early = make(from - 2 * 60 * MINUTE, 129);
    // long before anything in the window could have run
    const ancient = make(from - span - MINUTE, 5);
    for (const session of [early, ancient]) world.store.sessions.set(session.id, session);

    const calls: [number, number][] = [];
    const store = world.store;
    const spying: AppDeps = {
      ...deps,
      store: Object.assign(Object.create(store) as typeof store, {
        listCreatedBetween: (a: number, b: number, options: { limit: number; cursor?: string }) => {
          calls.push([a, b]);
          return store.listCreatedBetween(a, b, options);
        },
        listAll: () => Promise.reject(new Error('usage must not list everything')),
      }),
    };
    world.clock.advance(86_400_000);
    const report = await usageReport(spying, admin, {
      from,
      to: from + 86_400_000,
      groupBy: 'user',
    });
    // contiguous slices of exactly [from - span, to), read side by side
    const sorted = [...calls].sort((a, b) => a[0] - b[0]);
    expect(sorted[0]?.[0]).toBe(from - span);
    expect(sorted.at(-1)?.[1]).toBe(from + 86_400_000);
    sorted.slice(1).forEach(([start], index) => {
      expect(start).toBe(sorted[index]?.[1]);
    });
    expect(report.totals.sessions).toBe(0);
    expect(report.totals.bastionSeconds).toBe(600);
  });
});

describe('read slices', () => {
  it('property: cut a range into at most n contiguous, non-empty slices that cover it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 64 }),
        (from, length, count) => {
          const cut = slices(from, from + length, count);
          expect(cut.length).toBeGreaterThanOrEqual(1);
          expect(cut.length).toBeLessThanOrEqual(count);
          expect(cut[0]?.[0]).toBe(from);
          expect(cut.at(-1)?.[1]).toBe(from + length);
          cut.forEach(([start, end], index) => {
            expect(end).toBeGreaterThan(start);
            if (index > 0) expect(start).toBe(cut[index - 1]?.[1]);
          });
        },
      ),
    );
    expect(slices(10, 10, 8)).toEqual([]);
  });
});

describe('GET /usage', () => {
  const call = async (patch: (event: ReturnType<typeof httpEvent>) => void = () => {}) => {
    return createUsageHandler(() => ({ ...deps, groupsClaim: 'groups' }))(
      httpEvent('usage', patch),
      lambdaContext,
    );
  };

  it('answers JSON for finops, CSV when asked, 403 for others and 400 for a bad query', async () => {
    const json = await call();
    expect(json.statusCode).toBe(200);
    expect(JSON.parse(json.body ?? '')).toMatchObject({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
      groupBy: 'user',
    });
    const csv = await call((event) => {
      event.headers.accept = 'text/csv';
    });
    expect(csv.headers?.['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers?.['content-disposition']).toContain('drawbridge-usage-2026-11-01.csv');
    expect(csv.body?.split('\r\n')[0]).toMatch(/^row,key,sessions,/);
    const forbidden = await call((event) => {
      event.requestContext.authorizer.jwt.claims.groups = '[dba]';
    });
    expect(forbidden.statusCode).toBe(403);
    const bad = await call((event) => {
      event.queryStringParameters = { from: '2026-13-01' };
    });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body ?? '').error.message).toBe('from is not a real date');
  });
});
