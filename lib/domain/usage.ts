import {
  bastionCost,
  billedInterval,
  billedSecondsIn,
  controlPlaneCost,
  DAY_MS,
  type Interval,
  idleBaselineCost,
  type Pricing,
  roundMoney,
  usedSecondsIn,
} from './cost.ts';
import { findTarget, type Policy } from './policy.ts';
import { MODES, type Mode, type Session, SessionStatus } from './session.ts';
import {
  type PhaseDurations,
  phaseDurations,
  type TimeToReadyStats,
  timeToReadyStats,
} from './time-to-ready.ts';

export const GROUP_BY = ['user', 'target', 'team', 'day'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** What the reaper found on one UTC day, summed over its sweeps (stored when a sweep found anything). */
export interface ReaperDay {
  /** YYYY-MM-DD, UTC */
  day: string;
  /** sweeps that found something */
  sweeps: number;
  /** resources no live session accounted for */
  orphansFound: number;
  orphansReaped: number;
  /** READY sessions the reaper ended because the scheduled end did not happen */
  expired: number;
  /** sessions the reaper failed at their provisioning deadline */
  failed: number;
}

/** What one sweep adds to its day's ReaperDay. */
export type ReaperSweep = Omit<ReaperDay, 'day' | 'sweeps'>;

export const isNoteworthySweep = (sweep: ReaperSweep): boolean =>
  sweep.orphansFound + sweep.expired + sweep.failed > 0;

export interface CostBreakdown {
  instances: number;
  publicIpv4: number;
  lambda: number;
  dynamodb: number;
  total: number;
}

export interface OverstayStats {
  /** sessions whose window ended in the report and were still live when it did */
  sessions: number;
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
}

export interface UsageFigures {
  /** sessions created in the window */
  sessions: number;
  /** bastion running time inside the window (READY until ended) */
  bastionSeconds: number;
  /** the same, as billed: per second with a 60 s minimum per run (ec2 bastions only) */
  billedSeconds: number;
  cost: CostBreakdown;
  overstay: OverstayStats;
  breakGlassSessions: number;
}

export interface UsageGroup extends UsageFigures {
  key: string;
  /** groupBy=day only: what the reaper found that day */
  orphansFound?: number;
  orphansReaped?: number;
}

export interface ModeReadyStats {
  /** sessions created in the report that reached READY */
  sessions: number;
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
}

/**
 * One mode's figures: how long its sessions took to be READY (an ec2 bastion boots, an eice
 * grant only resolves an instance and an endpoint) and what its instances cost (ec2 only:
 * ssm, eice and local start none).
 */
export interface ModeUsage {
  mode: Mode;
  /** sessions created in the report */
  sessions: number;
  timeToReady: ModeReadyStats;
  /** instances and their public IPv4 addresses, inside the report */
  instanceCost: number;
}

export interface UsageReport {
  from: string;
  to: string;
  generatedAt: string;
  groupBy: GroupBy;
  currency: 'USD';
  groups: UsageGroup[];
  totals: UsageFigures;
  /** the reaper's invocations over the window: what Drawbridge costs with no session at all */
  idleBaseline: { lambda: number };
  /** every UTC day the window touches, for the bar chart */
  days: { day: string; bastionSeconds: number }[];
  orphans: { found: number; reaped: number; sweeps: number };
  reaper: { endedAfterMissedSchedule: number; failedAtDeadline: number };
  breakGlass: { sessions: number; openReviews: number };
  /** time to ready of the sessions that became READY in the window, overall and per target */
  timeToReady: { all: TimeToReadyStats; targets: Record<string, TimeToReadyStats> };
  pricing: { source: 'policy' | 'default'; unpricedInstanceTypes: string[] };
  /** per mode that had a session or a cost in the report, in the order of MODES */
  modes: ModeUsage[];
}

export const utcDay = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, 10);
const dayStart = (epochMs: number): number => Math.floor(epochMs / DAY_MS) * DAY_MS;

export const isBreakGlass = (session: Session): boolean => session.breakGlass === true;

/**
 * When the bastion was actually gone. `endedAt` is written when the session reaches ENDED
 * (or FAILED), i.e. after the provider's release returned: the latest moment we can vouch
 * for, so overstay is never understated. A live session is not gone yet: `now`.
 */
export const goneAt = (session: Session, now: number): number => session.endedAt ?? now;

/** The bastion's running time: from READY until gone. Sessions never READY had no usable bastion. */
export function bastionRun(session: Session, now: number): Interval | undefined {
  if (session.readyAt === undefined) return undefined;
  return { start: session.readyAt, end: Math.max(session.readyAt, goneAt(session, now)) };
}

/**
 * Seconds between the end of the window (expiresAt) and the bastion gone, for a session that
 * was still live when its window ended; undefined if it ended earlier or never had a window.
 */
export function overstaySeconds(session: Session, now: number): number | undefined {
  if (session.expiresAt === undefined || session.expiresAt > now) return undefined;
  const gone = goneAt(session, now);
  if (gone < session.expiresAt) return undefined;
  return (gone - session.expiresAt) / 1_000;
}

/**
 * How long a live bastion has outlived its window (0 if it has not): past expiresAt when READY;
 * an ENDING session's window closed when it began ending (a revoke) or at expiresAt, whichever
 * came first. What the OldestOverdueSeconds metric and its alarm watch.
 */
export function overdueSeconds(session: Session, now: number): number {
  let since: number | undefined;
  if (session.status === SessionStatus.READY) since = session.expiresAt;
  else if (session.status === SessionStatus.ENDING)
    since = Math.min(session.expiresAt ?? session.updatedAt, session.updatedAt);
  return since === undefined ? 0 : Math.max(0, (now - since) / 1_000);
}

export const timeToReadySeconds = (session: Session): number | undefined =>
  phaseDurations(session).total;

/** Nearest-rank percentile; 0 for no samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

export function overstayStats(samples: readonly number[]): OverstayStats {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    sessions: sorted.length,
    p50Seconds: percentile(sorted, 50),
    p99Seconds: percentile(sorted, 99),
    maxSeconds: sorted.at(-1) ?? 0,
  };
}

/** Same nearest-rank figures as overstay, over seconds from request to READY. */
export const modeReadyStats = (samples: readonly number[]): ModeReadyStats =>
  overstayStats(samples);

interface ModeTally {
  sessions: number;
  timeToReady: number[];
  instanceCost: number;
}

/**
 * The team a session is charged to: the first of the target's allowed groups the owner belongs
 * to (the group that let them in), else the owner's first group.
 */
export function teamOf(session: Session, policy: Policy): string {
  const allowed = findTarget(policy, session.target)?.allowedGroups ?? [];
  return (
    allowed.find((group) => session.ownerGroups.includes(group)) ??
    session.ownerGroups[0] ??
    '(none)'
  );
}

/**
 * The longest a session can hold a bastion after it was created: the approval wait, the
 * provisioning deadline, the longest window (with extensions) any target or break-glass
 * allows, and the self-destruct grace (layer 4 ends the instance then, whatever the table
 * says). A report that reads sessions created this long before its start sees every session
 * that could still have been running in it. Generous on purpose: reading a few more sessions
 * costs little, missing one understates the bill.
 */
export function maxSessionSpanMs(policy: Policy): number {
  const longest = Math.max(
    policy.breakGlass?.maxDurationMinutes ?? 0,
    ...policy.targets.map(
      (target) =>
        (target.approval?.timeoutMinutes ?? 0) +
        target.maxDurationMinutes +
        target.extensionHeadroomMinutes,
    ),
  );
  return (policy.provisioningDeadlineMinutes + longest + policy.selfDestructGraceMinutes) * 60_000;
}

interface Tally {
  sessions: number;
  /** sessions that ran on AWS (not local mode): what the control-plane estimate counts */
  cloudSessions: number;
  bastionSeconds: number;
  billedSeconds: number;
  instances: number;
  publicIpv4: number;
  events: number;
  overstay: number[];
  breakGlass: number;
}

const emptyTally = (): Tally => ({ ...emptyShare(), overstay: [] });

/** One session's contribution to one group. */
type Share = Omit<Tally, 'overstay'> & { overstay?: number };

export interface UsageWindow {
  from: number;
  to: number;
  /** report time: live sessions are counted up to here */
  now: number;
}

export interface UsageOptions {
  window: UsageWindow;
  groupBy: GroupBy;
  policy: Policy;
  pricing: Pricing;
  pricingSource: 'policy' | 'default';
}

/**
 * Builds the usage report one session at a time, so a report over 100,000 sessions holds
 * per-group sums and the overstay samples, never the sessions. A session counts for the part
 * of it inside [from, to): its bastion time and cost are clipped to the window (and, grouped
 * by day, split at UTC midnight); it counts as a session, with its control-plane cost, where
 * it was created; its overstay where its window ended.
 */
export class UsageAccumulator {
  private readonly options: UsageOptions;
  private readonly window: Interval;
  private readonly groups = new Map<string, Tally>();
  private readonly totals = emptyTally();
  private readonly unpriced = new Set<string>();
  private readonly reaperDays = new Map<string, ReaperDay>();
  private readonly daySeconds = new Map<string, number>();
  private readonly modes = new Map<Mode, ModeTally>();
  private openReviews = 0;
  /** per target, the phases of each session that became READY inside the window */
  private readonly readiness = new Map<string, PhaseDurations[]>();

  constructor(options: UsageOptions) {
    this.options = options;
    // Nothing after `now` has happened yet.
    const { from, to, now } = options.window;
    this.window = { start: from, end: Math.max(from, Math.min(to, now)) };
  }

  add(session: Session): void {
    const { now } = this.options.window;
    if (session.readyAt !== undefined && this.inWindow(session.readyAt)) {
      const list = this.readiness.get(session.target) ?? [];
      list.push(phaseDurations(session));
      this.readiness.set(session.target, list);
    }
    const run = bastionRun(session, now);
    const created = this.inWindow(session.createdAt);
    const overstay = overstaySeconds(session, now);
    const overstayHere =
      overstay !== undefined && session.expiresAt !== undefined && this.inWindow(session.expiresAt)
        ? overstay
        : undefined;

    if (session.mode === 'ec2' && run && !this.priced(session)) {
      this.unpriced.add(this.instanceType(session) ?? '(unknown)');
    }
    if (run) {
      for (const [day, seconds] of this.splitByDay(run)) {
        this.daySeconds.set(day, (this.daySeconds.get(day) ?? 0) + seconds);
      }
    }

    if (created) this.countMode(session);
    if (this.options.groupBy === 'day') {
      if (run) {
        for (const [day, piece] of this.pieces(run)) {
          const share = this.runShare(session, run, piece);
          this.chargeMode(session.mode, share);
          this.credit(day, share);
        }
      }
      if (created) this.credit(utcDay(session.createdAt), this.creationShare(session));
      if (overstayHere !== undefined && session.expiresAt !== undefined) {
        this.credit(utcDay(session.expiresAt), { ...emptyShare(), overstay: overstayHere });
      }
      return;
    }
    const share = run ? this.runShare(session, run, this.window) : emptyShare();
    this.chargeMode(session.mode, share);
    if (created) addShare(share, this.creationShare(session));
    if (overstayHere !== undefined) share.overstay = overstayHere;
    const nothingHere =
      share.bastionSeconds === 0 && share.billedSeconds === 0 && share.overstay === undefined;
    if (!created && nothingHere) return;
    this.credit(this.keyOf(session), share);
  }

  private modeTally(mode: Mode): ModeTally {
    let tally = this.modes.get(mode);
    if (!tally) {
      tally = { sessions: 0, timeToReady: [], instanceCost: 0 };
      this.modes.set(mode, tally);
    }
    return tally;
  }

  /** A session created in the report: counted for its mode, with its time to READY if it got there. */
  private countMode(session: Session): void {
    const tally = this.modeTally(session.mode);
    tally.sessions += 1;
    const seconds = timeToReadySeconds(session);
    if (seconds !== undefined && seconds >= 0) tally.timeToReady.push(seconds);
  }

  private chargeMode(mode: Mode, share: Share): void {
    const cost = share.instances + share.publicIpv4;
    if (cost > 0) this.modeTally(mode).instanceCost += cost;
  }

  addReaperDay(day: ReaperDay): void {
    this.reaperDays.set(day.day, day);
  }

  setOpenReviews(count: number): void {
    this.openReviews = count;
  }

  report(): UsageReport {
    const { window, pricing, groupBy } = this.options;
    const days = this.allDays();
    if (groupBy === 'day')
      for (const day of days) if (!this.groups.has(day)) this.groups.set(day, emptyTally());
    const groups: UsageGroup[] = [...this.groups].map(([key, tally]) => {
      const group: UsageGroup = { key, ...this.figures(tally) };
      if (groupBy === 'day') {
        const reaper = this.reaperDays.get(key);
        group.orphansFound = reaper?.orphansFound ?? 0;
        group.orphansReaped = reaper?.orphansReaped ?? 0;
      }
      return group;
    });
    groups.sort((a, b) =>
      groupBy === 'day'
        ? compare(a.key, b.key)
        : b.cost.total - a.cost.total ||
          b.bastionSeconds - a.bastionSeconds ||
          compare(a.key, b.key),
    );
    const inReport = new Set(days);
    const reaper = [...this.reaperDays.values()].filter((day) => inReport.has(day.day));
    const sum = (pick: (day: ReaperDay) => number) => reaper.reduce((s, d) => s + pick(d), 0);
    return {
      from: new Date(window.from).toISOString(),
      to: new Date(window.to).toISOString(),
      generatedAt: new Date(window.now).toISOString(),
      groupBy,
      currency: pricing.currency,
      groups,
      totals: this.figures(this.totals),
      idleBaseline: {
        lambda: roundMoney(idleBaselineCost(this.window.end - this.window.start, pricing)),
      },
      days: days.map((day) => ({ day, bastionSeconds: round3(this.daySeconds.get(day) ?? 0) })),
      orphans: {
        found: sum((d) => d.orphansFound),
        reaped: sum((d) => d.orphansReaped),
        sweeps: sum((d) => d.sweeps),
      },
      reaper: {
        endedAfterMissedSchedule: sum((d) => d.expired),
        failedAtDeadline: sum((d) => d.failed),
      },
      breakGlass: { sessions: this.totals.breakGlass, openReviews: this.openReviews },
      timeToReady: {
        all: timeToReadyStats([...this.readiness.values()].flat()),
        targets: Object.fromEntries(
          [...this.readiness]
            .sort(([a], [b]) => compare(a, b))
            .map(([target, samples]) => [target, timeToReadyStats(samples)]),
        ),
      },
      pricing: {
        source: this.options.pricingSource,
        unpricedInstanceTypes: [...this.unpriced].sort(),
      },
      modes: MODES.flatMap((mode) => {
        const tally = this.modes.get(mode);
        if (!tally) return [];
        return [
          {
            mode,
            sessions: tally.sessions,
            timeToReady: modeReadyStats(tally.timeToReady),
            instanceCost: roundMoney(tally.instanceCost),
          },
        ];
      }),
    };
  }

  private inWindow(at: number): boolean {
    return at >= this.options.window.from && at < this.options.window.to;
  }

  private priced(session: Session): boolean {
    const type = this.instanceType(session);
    return type !== undefined && this.options.pricing.instanceHourly[type] !== undefined;
  }

  /** What the provider recorded; else the type it tries first for the target. */
  private instanceType(session: Session): string | undefined {
    return (
      session.resources.instanceType ??
      findTarget(this.options.policy, session.target)?.instanceTypes[0]
    );
  }

  private keyOf(session: Session): string {
    switch (this.options.groupBy) {
      case 'user':
        return session.owner;
      case 'target':
        return session.target;
      case 'team':
        return teamOf(session, this.options.policy);
      default:
        return utcDay(session.createdAt);
    }
  }

  /** Bastion time and its cost inside `piece` (the window, or one UTC day of it). */
  private runShare(session: Session, run: Interval, piece: Interval): Share {
    const share = emptyShare();
    share.bastionSeconds = usedSecondsIn(run, piece);
    // Only an ec2 bastion is an instance on a bill; local (and ssm) have no instance.
    if (session.mode === 'ec2') {
      share.billedSeconds = billedSecondsIn(run, piece);
      const cost = bastionCost(
        share.billedSeconds,
        this.instanceType(session),
        this.options.pricing,
      );
      share.instances = cost.instance;
      share.publicIpv4 = cost.publicIpv4;
    }
    return share;
  }

  private creationShare(session: Session): Share {
    return {
      ...emptyShare(),
      sessions: 1,
      // Local mode runs no Lambda function and no DynamoDB table on AWS.
      cloudSessions: session.mode === 'local' ? 0 : 1,
      events: session.mode === 'local' ? 0 : session.auditSeq,
      breakGlass: isBreakGlass(session) ? 1 : 0,
    };
  }

  private credit(key: string, share: Share): void {
    let tally = this.groups.get(key);
    if (!tally) {
      tally = emptyTally();
      this.groups.set(key, tally);
    }
    for (const target of [tally, this.totals]) {
      addShare(target, share);
      if (share.overstay !== undefined) target.overstay.push(share.overstay);
    }
  }

  private figures(tally: Tally): UsageFigures {
    const controlPlane = controlPlaneCost(tally.cloudSessions, tally.events, this.options.pricing);
    const cost = {
      instances: roundMoney(tally.instances),
      publicIpv4: roundMoney(tally.publicIpv4),
      lambda: roundMoney(controlPlane.lambda),
      dynamodb: roundMoney(controlPlane.dynamodb),
      total: roundMoney(
        tally.instances + tally.publicIpv4 + controlPlane.lambda + controlPlane.dynamodb,
      ),
    };
    return {
      sessions: tally.sessions,
      bastionSeconds: round3(tally.bastionSeconds),
      billedSeconds: round3(tally.billedSeconds),
      cost,
      overstay: overstayStats(tally.overstay),
      breakGlassSessions: tally.breakGlass,
    };
  }

  /** The window cut at UTC midnights, for the day grouping. */
  private *pieces(run: Interval): Generator<[string, Interval]> {
    // The billed stretch can outlast the run (the 60 s minimum): walk the days it touches.
    const end = Math.min(this.window.end, billedInterval(run).end);
    for (let day = dayStart(Math.max(run.start, this.window.start)); day < end; day += DAY_MS) {
      const piece = {
        start: Math.max(day, this.window.start),
        end: Math.min(day + DAY_MS, this.window.end),
      };
      if (piece.end > piece.start) yield [utcDay(day), piece];
    }
  }

  private splitByDay(run: Interval): [string, number][] {
    const out: [string, number][] = [];
    for (const [day, piece] of this.pieces(run)) {
      const seconds = usedSecondsIn(run, piece);
      if (seconds > 0) out.push([day, seconds]);
    }
    return out;
  }

  private allDays(): string[] {
    const { from, to } = this.options.window;
    const days: string[] = [];
    for (let day = dayStart(from); day < to; day += DAY_MS) days.push(utcDay(day));
    return days;
  }
}

function emptyShare(): Share {
  return {
    sessions: 0,
    cloudSessions: 0,
    bastionSeconds: 0,
    billedSeconds: 0,
    instances: 0,
    publicIpv4: 0,
    events: 0,
    breakGlass: 0,
  };
}

function addShare(target: Omit<Tally, 'overstay'>, share: Share): void {
  target.sessions += share.sessions;
  target.cloudSessions += share.cloudSessions;
  target.bastionSeconds += share.bastionSeconds;
  target.billedSeconds += share.billedSeconds;
  target.instances += share.instances;
  target.publicIpv4 += share.publicIpv4;
  target.events += share.events;
  target.breakGlass += share.breakGlass;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const round3 = (value: number): number => Math.round(value * 1_000) / 1_000;
