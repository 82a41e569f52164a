import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultPricing } from '../../lib/domain/cost.ts';
import type { Session } from '../../lib/domain/session.ts';
import {
  GROUP_BY,
  type GroupBy,
  maxSessionSpanMs,
  overdueSeconds,
  overstaySeconds,
  type ReaperDay,
  UsageAccumulator,
  type UsageReport,
} from '../../lib/domain/usage.ts';
import { testPolicy } from '../support/fakes.ts';
import { makeSession } from '../support/sessions.ts';

const SECOND = 1_000;
const MINUTE = 60_000;
const at = (iso: string): number => Date.parse(iso);
const FROM = at('2026-11-01T00:00:00Z');
const TO = at('2026-11-03T00:00:00Z');
const NOW = at('2026-11-05T00:00:00Z');
const policy = testPolicy();

/** An ec2 t4g.nano session on prod-db that was READY from `ready` until `ended`. */
function ec2(
  owner: string,
  created: string,
  ready: string | undefined,
  ended: string | undefined,
  extra: Partial<Session> = {},
): Session {
  const readyAt = ready === undefined ? undefined : at(ready);
  return makeSession({
    owner,
    ownerGroups: ['dba', 'dev'],
    target: 'prod-db',
    mode: 'ec2',
    createdAt: at(created),
    status: ended === undefined ? 'READY' : 'ENDED',
    auditSeq: 6,
    resources: { instanceId: 'i-0123456789abcdef0', instanceType: 't4g.nano' },
    ...(readyAt === undefined ? {} : { readyAt, expiresAt: readyAt + 30 * MINUTE }),
    ...(ended === undefined ? {} : { endedAt: at(ended) }),
    ...extra,
  });
}

// Hand-computed in the comments; the window is 2026-11-01 and 2026-11-02 (UTC).
const A = ec2('alice', '2026-11-01T10:00:00Z', '2026-11-01T10:01:00Z', '2026-11-01T10:31:30Z');
// 23:51 to 00:21:10: 540 s on the 1st, 1270 s on the 2nd; window ended 00:21, 10 s overstay
const B = ec2('bob', '2026-11-01T23:50:00Z', '2026-11-01T23:51:00Z', '2026-11-02T00:21:10Z');
// created before the window; 120 s of it inside; its window ended at 00:01 inside: 60 s overstay
const C = ec2('alice', '2026-10-31T23:30:00Z', '2026-10-31T23:31:00Z', '2026-11-01T00:02:00Z');
// local mode, revoked before its window ended: 599 s, no cost, no overstay
const D = makeSession({
  owner: 'carol',
  ownerGroups: ['dev'],
  target: 'demo',
  mode: 'local',
  createdAt: at('2026-11-02T12:00:00Z'),
  readyAt: at('2026-11-02T12:00:01Z'),
  expiresAt: at('2026-11-02T12:30:01Z'),
  endedAt: at('2026-11-02T12:10:00Z'),
  status: 'ENDED',
  endReason: 'revoked',
  auditSeq: 5,
});
// failed before READY: a session, control-plane cost, no bastion time
const E = ec2('alice', '2026-11-02T09:00:00Z', undefined, '2026-11-02T09:10:00Z', {
  status: 'FAILED',
  auditSeq: 3,
});
// 20 s of bastion billed as 60 s; break-glass
const F = ec2('dave', '2026-11-02T15:00:00Z', '2026-11-02T15:00:30Z', '2026-11-02T15:00:50Z', {
  auditSeq: 5,
  breakGlass: true,
});
// after the window
const G = ec2('alice', '2026-11-03T01:00:00Z', '2026-11-03T01:01:00Z', '2026-11-03T01:31:00Z');

const REAPER: ReaperDay[] = [
  { day: '2026-11-01', sweeps: 2, orphansFound: 1, orphansReaped: 1, expired: 1, failed: 0 },
  { day: '2026-11-04', sweeps: 1, orphansFound: 5, orphansReaped: 5, expired: 0, failed: 0 },
];

function build(groupBy: GroupBy, sessions: Session[] = [A, B, C, D, E, F, G], now = NOW) {
  const usage = new UsageAccumulator({
    window: { from: FROM, to: TO, now },
    groupBy,
    policy,
    pricing: defaultPricing(),
    pricingSource: 'default',
  });
  for (const session of sessions) usage.add(session);
  for (const day of REAPER) usage.addReaperDay(day);
  return usage.report();
}

const group = (report: UsageReport, key: string) => {
  const found = report.groups.find((candidate) => candidate.key === key);
  if (!found) throw new Error(`no group ${key}`);
  return found;
};

describe('usage report arithmetic', () => {
  it('totals sessions, bastion seconds, billed seconds and cost by hand', () => {
    const { totals } = build('user');
    expect(totals.sessions).toBe(5); // A B D E F (C before, G after)
    expect(totals.bastionSeconds).toBe(4_379); // 1830 + 1810 + 120 + 599 + 20
    expect(totals.billedSeconds).toBe(3_820); // ec2 only: 1830 + 1810 + 120 + 60
    // 3820 s x $0.0042/h and x $0.005/h
    expect(totals.cost.instances).toBe(0.004457);
    expect(totals.cost.publicIpv4).toBe(0.005306);
    // 4 cloud sessions (D is local), 20 events: see test/domain/cost.test.ts for the formula
    expect(totals.cost.lambda).toBe(0.000028);
    expect(totals.cost.dynamodb).toBe(0.000135);
    expect(totals.cost.total).toBe(0.009925);
    expect(totals.breakGlassSessions).toBe(1);
  });

  it('computes overstay p50, p99 and max over sessions whose window ended in the report', () => {
    const { totals } = build('user');
    // A 30 s, B 10 s, C 60 s; D ended before its window, E never had one, F ended early
    expect(totals.overstay).toEqual({
      sessions: 3,
      p50Seconds: 30,
      p99Seconds: 60,
      maxSeconds: 60,
    });
  });

  it('groups by user, most expensive first', () => {
    const report = build('user');
    expect(report.groups.map((g) => g.key)).toEqual(['alice', 'bob', 'dave', 'carol']);
    const alice = group(report, 'alice');
    expect(alice.sessions).toBe(2); // A and E; C was created before the window
    expect(alice.bastionSeconds).toBe(1_950);
    expect(alice.overstay.maxSeconds).toBe(60);
    expect(group(report, 'carol').cost.total).toBe(0);
    expect(group(report, 'dave').billedSeconds).toBe(60);
  });

  it('groups by day, splitting at midnight UTC, with every day of the window present', () => {
    const report = build('day');
    expect(report.groups.map((g) => g.key)).toEqual(['2026-11-01', '2026-11-02']);
    const first = group(report, '2026-11-01');
    const second = group(report, '2026-11-02');
    expect(first.bastionSeconds).toBe(2_490); // A 1830 + B 540 + C 120
    expect(second.bastionSeconds).toBe(1_889); // B 1270 + D 599 + F 20
    expect(first.sessions).toBe(2);
    expect(second.sessions).toBe(3);
    expect(first.overstay.sessions).toBe(2); // A and C ended their windows on the 1st
    expect(second.overstay.maxSeconds).toBe(10);
    expect(first.orphansFound).toBe(1);
    expect(second.orphansFound).toBe(0);
    expect(report.days).toEqual([
      { day: '2026-11-01', bastionSeconds: 2_490 },
      { day: '2026-11-02', bastionSeconds: 1_889 },
    ]);
  });

  it('groups by target and by team (the group that let the owner in)', () => {
    const byTarget = build('target');
    expect(byTarget.groups.map((g) => g.key).sort()).toEqual(['demo', 'prod-db']);
    expect(group(byTarget, 'demo').bastionSeconds).toBe(599);
    const byTeam = build('team');
    expect(byTeam.groups.map((g) => g.key).sort()).toEqual(['dba', 'dev']);
    expect(group(byTeam, 'dev').sessions).toBe(1);
  });

  it('sums the reaper days inside the window only', () => {
    const report = build('target');
    expect(report.orphans).toEqual({ found: 1, reaped: 1, sweeps: 2 });
    expect(report.reaper).toEqual({ endedAfterMissedSchedule: 1, failedAtDeadline: 0 });
    expect(report.breakGlass).toEqual({ sessions: 1, openReviews: 0 });
  });

  it('counts a live bastion up to now, and reports the idle baseline for the elapsed window', () => {
    const live = ec2('erin', '2026-11-02T23:00:00Z', '2026-11-02T23:00:00Z', undefined);
    const now = at('2026-11-02T23:10:00Z');
    const report = build('user', [live], now);
    expect(report.totals.bastionSeconds).toBe(600);
    expect(report.totals.overstay.sessions).toBe(0);
    // window from 11-01 00:00 to now: 47h10m of reaper at 1440 invocations a day
    expect(report.idleBaseline.lambda).toBe(0.003396);
    const overdue = build('user', [live], at('2026-11-02T23:45:00Z'));
    // still READY 15 minutes after expiresAt (23:30): an overstay in progress
    expect(overdue.totals.overstay.maxSeconds).toBe(900);
  });

  it('names instance types it has no price for', () => {
    const odd = ec2(
      'alice',
      '2026-11-01T10:00:00Z',
      '2026-11-01T10:00:00Z',
      '2026-11-01T11:00:00Z',
      {
        resources: { instanceType: 'x9g.metal' },
      },
    );
    const report = build('user', [odd]);
    expect(report.pricing).toEqual({ source: 'default', unpricedInstanceTypes: ['x9g.metal'] });
    expect(report.totals.cost.instances).toBe(0);
    expect(report.totals.cost.publicIpv4).toBe(0.005);
  });
});

describe('time to READY by mode', () => {
  /** An eice session: no instance started, READY as soon as the grant's scope is resolved. */
  const eice = (created: string, readyAfterMs: number | undefined, extra: Partial<Session> = {}) =>
    makeSession({
      owner: 'erin',
      ownerGroups: ['dev'],
      target: 'web-ssh',
      mode: 'eice',
      createdAt: at(created),
      status: readyAfterMs === undefined ? 'FAILED' : 'ENDED',
      auditSeq: 5,
      resources: {
        targetInstanceId: 'i-0aaaaaaaaaaaaaaa1',
        eiceEndpointId: 'eice-0123456789abcdef0',
      },
      ...(readyAfterMs === undefined
        ? { endedAt: at(created) + 2 * SECOND }
        : {
            readyAt: at(created) + readyAfterMs,
            expiresAt: at(created) + readyAfterMs + 30 * MINUTE,
            endedAt: at(created) + readyAfterMs + 20 * MINUTE,
          }),
      ...extra,
    });
  const EICE = [
    eice('2026-11-01T08:00:00Z', 800),
    eice('2026-11-01T09:00:00Z', 1_200),
    eice('2026-11-02T09:00:00Z', 400),
    // never READY (no running instance): a session, no time to READY
    eice('2026-11-02T10:00:00Z', undefined),
    // created before the report: neither a session nor a sample here
    eice('2026-10-31T23:59:00Z', 300),
  ];

  it('gives each mode its own time to READY, and eice no instance cost', () => {
    for (const groupBy of GROUP_BY) {
      const { modes, totals } = build(groupBy, [A, B, C, D, E, F, G, ...EICE]);
      expect(modes.map((mode) => mode.mode)).toEqual(['ec2', 'eice', 'local']);
      const [ec2Mode, eiceMode, localMode] = modes;
      // ec2: A 60 s, B 60 s, E never READY, F 30 s (C before the report, G after)
      expect(ec2Mode).toEqual({
        mode: 'ec2',
        sessions: 4,
        timeToReady: { sessions: 3, p50Seconds: 60, p99Seconds: 60, maxSeconds: 60 },
        // 3820 billed s x ($0.0042 + $0.005)/h, rounded once
        instanceCost: 0.009762,
      });
      expect(eiceMode).toEqual({
        mode: 'eice',
        sessions: 4,
        timeToReady: { sessions: 3, p50Seconds: 0.8, p99Seconds: 1.2, maxSeconds: 1.2 },
        instanceCost: 0,
      });
      // D: 1 s
      expect(localMode).toMatchObject({ sessions: 1, timeToReady: { maxSeconds: 1 } });
      // the eice sessions' time is counted (the window was theirs) but costs no instance
      expect(totals.sessions).toBe(9);
      expect(totals.cost.instances).toBe(0.004457);
    }
  });

  it('lists no mode that had nothing in the report', () => {
    expect(build('user', [G]).modes).toEqual([]);
    expect(build('user', []).modes).toEqual([]);
  });
});

describe('overstay, overdue and the read-back span', () => {
  it('measures overstay from expiresAt to endedAt, only for sessions live at expiresAt', () => {
    expect(overstaySeconds(A, NOW)).toBe(30);
    expect(overstaySeconds(D, NOW)).toBeUndefined();
    expect(overstaySeconds(E, NOW)).toBeUndefined();
  });

  it('measures how long a live bastion outlived its window (a revoke closes it early)', () => {
    const ready = ec2('alice', '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z', undefined);
    expect(overdueSeconds(ready, at('2026-11-01T10:29:00Z'))).toBe(0);
    expect(overdueSeconds(ready, at('2026-11-01T10:32:00Z'))).toBe(120);
    const ending = { ...ready, status: 'ENDING' as const, updatedAt: at('2026-11-01T10:05:00Z') };
    expect(overdueSeconds(ending, at('2026-11-01T10:06:00Z'))).toBe(60);
    expect(overdueSeconds(A, NOW)).toBe(0);
  });

  it('reads back far enough for the longest session the policy allows', () => {
    // 10 min deadline + 120 min (prod-db) + 5 min grace
    expect(maxSessionSpanMs(policy)).toBe(135 * MINUTE);
  });
});

describe('properties', () => {
  const OWNERS = ['alice', 'bob', 'carol'];
  const arbitrarySession = fc
    .record({
      created: fc.integer({ min: FROM - 2 * 86_400_000, max: TO + 86_400_000 }),
      readyAfter: fc.option(fc.integer({ min: 0, max: 10 * MINUTE }), { nil: undefined }),
      lasted: fc.integer({ min: 0, max: 3 * 3_600 * SECOND }),
      duration: fc.integer({ min: 1, max: 120 }),
      ended: fc.boolean(),
      owner: fc.constantFrom(...OWNERS),
      mode: fc.constantFrom('ec2', 'local', 'eice'),
      events: fc.integer({ min: 1, max: 12 }),
    })
    .map((s) => {
      const readyAt = s.readyAfter === undefined ? undefined : s.created + s.readyAfter;
      return makeSession({
        owner: s.owner,
        ownerGroups: ['dba', 'dev'],
        mode: s.mode,
        target: s.mode === 'local' ? 'demo' : 'prod-db',
        createdAt: s.created,
        status: s.ended ? 'ENDED' : readyAt === undefined ? 'PROVISIONING' : 'READY',
        auditSeq: s.events,
        resources: { instanceType: 't4g.nano' },
        ...(readyAt === undefined ? {} : { readyAt, expiresAt: readyAt + s.duration * MINUTE }),
        ...(s.ended ? { endedAt: (readyAt ?? s.created) + s.lasted } : {}),
      });
    });

  it('gives the same totals whatever the grouping, and groups that add up to them', () => {
    fc.assert(
      fc.property(fc.array(arbitrarySession, { maxLength: 25 }), (sessions) => {
        const reports = GROUP_BY.map((groupBy) => build(groupBy, sessions));
        const [first] = reports;
        for (const report of reports) {
          expect(report.totals.sessions).toBe(first?.totals.sessions);
          expect(report.totals.bastionSeconds).toBeCloseTo(first?.totals.bastionSeconds ?? 0, 2);
          expect(report.totals.billedSeconds).toBeCloseTo(first?.totals.billedSeconds ?? 0, 2);
          expect(report.totals.cost.total).toBeCloseTo(first?.totals.cost.total ?? 0, 5);
          expect(report.totals.overstay).toEqual(first?.totals.overstay);
          const sum = (pick: (g: UsageReport['groups'][number]) => number) =>
            report.groups.reduce((total, g) => total + pick(g), 0);
          expect(sum((g) => g.sessions)).toBe(report.totals.sessions);
          expect(sum((g) => g.bastionSeconds)).toBeCloseTo(report.totals.bastionSeconds, 2);
          expect(sum((g) => g.cost.instances)).toBeCloseTo(report.totals.cost.instances, 4);
          expect(sum((g) => g.overstay.sessions)).toBe(report.totals.overstay.sessions);
          const chart = report.days.reduce((total, day) => total + day.bastionSeconds, 0);
          expect(chart).toBeCloseTo(report.totals.bastionSeconds, 2);
          // per mode: the same whatever the grouping, adding up to the totals, no cost but ec2's
          expect(report.modes.map(({ instanceCost, ...rest }) => rest)).toEqual(
            first?.modes.map(({ instanceCost, ...rest }) => rest),
          );
          const modes = report.modes;
          expect(modes.reduce((total, m) => total + m.sessions, 0)).toBe(report.totals.sessions);
          expect(modes.reduce((total, m) => total + m.instanceCost, 0)).toBeCloseTo(
            report.totals.cost.instances + report.totals.cost.publicIpv4,
            4,
          );
          for (const m of modes) if (m.mode !== 'ec2') expect(m.instanceCost).toBe(0);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('never counts more bastion time than the window holds per bastion', () => {
    fc.assert(
      fc.property(arbitrarySession, (session) => {
        const report = build('user', [session]);
        const windowSeconds = (Math.min(TO, NOW) - FROM) / SECOND;
        expect(report.totals.bastionSeconds).toBeLessThanOrEqual(windowSeconds);
        expect(report.totals.bastionSeconds).toBeGreaterThanOrEqual(0);
        if (session.mode === 'ec2') {
          expect(report.totals.billedSeconds).toBeGreaterThanOrEqual(
            report.totals.bastionSeconds - 0.001,
          );
        }
      }),
    );
  });
});
