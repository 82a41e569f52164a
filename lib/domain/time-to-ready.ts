import type { Session } from './session.ts';

/**
 * Time to ready, in phases. `launch`: the request (or its approval) to the launch call sent,
 * Drawbridge's own share (API, queue, function start, calls). `running`: the launch call to
 * the provider's first "running" (EC2 RunInstances and start). `ready`: running to the
 * readiness proof stored (boot, sshd, the agent shipping the proof, Drawbridge's handling).
 */
export const READY_PHASES = ['launch', 'running', 'ready'] as const;
export type ReadyPhase = (typeof READY_PHASES)[number];

/** Seconds per phase, and in total; a phase the session did not record is absent. */
export type PhaseDurations = Partial<Record<ReadyPhase | 'total', number>>;

/** The clock starts when the request could be served: at its approval, if it waited for one. */
export const requestedAt = (session: Session): number =>
  session.approval?.decidedAt ?? session.createdAt;

const seconds = (from: number | undefined, to: number | undefined): number | undefined =>
  from === undefined || to === undefined ? undefined : Math.max(0, to - from) / 1_000;

export function phaseDurations(session: Session): PhaseDurations {
  const start = requestedAt(session);
  const out: PhaseDurations = {};
  const put = (key: keyof PhaseDurations, value: number | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  put('launch', seconds(start, session.launchSentAt));
  put('running', seconds(session.launchSentAt, session.bastionRunningAt));
  put('ready', seconds(session.bastionRunningAt, session.readyAt));
  put('total', seconds(start, session.readyAt));
  return out;
}

export interface Percentiles {
  samples: number;
  p50Seconds: number;
  p95Seconds: number;
}

export interface TimeToReadyStats {
  /** sessions that became READY */
  sessions: number;
  total: Percentiles;
  phases: Record<ReadyPhase, Percentiles>;
}

/** Nearest-rank percentile of sorted samples; 0 for none. */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

const round3 = (value: number): number => Math.round(value * 1_000) / 1_000;

function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50Seconds: round3(nearestRank(sorted, 50)),
    p95Seconds: round3(nearestRank(sorted, 95)),
  };
}

/** p50/p95 over the READY sessions' phases; a phase counts only the sessions that recorded it. */
export function timeToReadyStats(samples: readonly PhaseDurations[]): TimeToReadyStats {
  const ready = samples.filter((sample) => sample.total !== undefined);
  const pick = (key: keyof PhaseDurations) =>
    ready.map((sample) => sample[key]).filter((value): value is number => value !== undefined);
  return {
    sessions: ready.length,
    total: percentiles(pick('total')),
    phases: {
      launch: percentiles(pick('launch')),
      running: percentiles(pick('running')),
      ready: percentiles(pick('ready')),
    },
  };
}
