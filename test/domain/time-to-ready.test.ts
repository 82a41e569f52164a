import { describe, expect, it } from 'vitest';
import { defaultPricing } from '../../lib/domain/cost.ts';
import { phaseDurations, timeToReadyStats } from '../../lib/domain/time-to-ready.ts';
import { UsageAccumulator } from '../../lib/domain/usage.ts';
import { testPolicy } from '../support/fakes.ts';
import { BASE_TIME, makeSession } from '../support/sessions.ts';

const S = 1_000;

/** A session that was requested at BASE_TIME and took these seconds per phase. */
const readyAfter = (launch: number, running: number, ready: number) =>
  makeSession({
    status: 'READY',
    launchSentAt: BASE_TIME + launch * S,
    bastionRunningAt: BASE_TIME + (launch + running) * S,
    readyAt: BASE_TIME + (launch + running + ready) * S,
  });

describe('time to ready', () => {
  it('splits a session into its phases', () => {
    expect(phaseDurations(readyAfter(0.05, 9, 14))).toEqual({
      launch: 0.05,
      running: 9,
      ready: 14,
      total: 23.05,
    });
  });

  it('starts the clock at the approval for a session that waited for one', () => {
    const session = {
      ...readyAfter(600.2, 10, 10),
      approval: {
        approverGroups: ['leads'],
        deadline: BASE_TIME + 3_600 * S,
        decidedAt: BASE_TIME + 600 * S,
      },
    };
    expect(phaseDurations(session).launch).toBeCloseTo(0.2);
  });

  it('has no total for a session that never became READY', () => {
    const provisioning = makeSession({ status: 'PROVISIONING', launchSentAt: BASE_TIME + 100 });
    expect(phaseDurations(provisioning)).toEqual({ launch: 0.1 });
    expect(timeToReadyStats([phaseDurations(provisioning)]).sessions).toBe(0);
  });

  it('reports nearest-rank p50 and p95 per phase over hand-made sessions', () => {
    // 20 sessions: running takes 1..20 s, ready 2 s each, launch 0.1 s.
    const sessions = Array.from({ length: 20 }, (_, i) => readyAfter(0.1, i + 1, 2));
    const stats = timeToReadyStats(sessions.map(phaseDurations));
    expect(stats.sessions).toBe(20);
    expect(stats.phases.running).toEqual({ samples: 20, p50Seconds: 10, p95Seconds: 19 });
    expect(stats.phases.ready).toEqual({ samples: 20, p50Seconds: 2, p95Seconds: 2 });
    expect(stats.phases.launch).toEqual({ samples: 20, p50Seconds: 0.1, p95Seconds: 0.1 });
    expect(stats.total).toEqual({ samples: 20, p50Seconds: 12.1, p95Seconds: 21.1 });
  });

  it('reports zeros, not NaN, with no sessions', () => {
    expect(timeToReadyStats([]).total).toEqual({ samples: 0, p50Seconds: 0, p95Seconds: 0 });
  });
});

describe('GET /usage: time to ready per target and per phase', () => {
  it('reports the sessions that became READY in the window, by target', () => {
    const usage = new UsageAccumulator({
      window: {
        from: BASE_TIME - 3_600 * S,
        to: BASE_TIME + 3_600 * S,
        now: BASE_TIME + 3_600 * S,
      },
      groupBy: 'target',
      policy: testPolicy(),
      pricing: defaultPricing(),
      pricingSource: 'default',
    });
    for (let i = 1; i <= 4; i += 1) usage.add({ ...readyAfter(0.1, 10 * i, 5), target: 'prod-db' });
    usage.add({ ...readyAfter(0.2, 1, 1), target: 'demo', mode: 'local' });
    // never ready: no sample
    usage.add(makeSession({ target: 'demo', status: 'FAILED', launchSentAt: BASE_TIME + 10 }));
    const report = usage.report();
    expect(Object.keys(report.timeToReady.targets)).toEqual(['demo', 'prod-db']);
    expect(report.timeToReady.targets['prod-db']?.phases.running).toEqual({
      samples: 4,
      p50Seconds: 20,
      p95Seconds: 40,
    });
    expect(report.timeToReady.targets.demo?.total).toEqual({
      samples: 1,
      p50Seconds: 2.2,
      p95Seconds: 2.2,
    });
    expect(report.timeToReady.all.sessions).toBe(5);
  });
});
