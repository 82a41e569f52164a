/**
 * Operational metrics (CloudWatch EMF in Lambda). Each name has one fixed unit, so a use case
 * cannot emit seconds where an alarm expects a count. Emitting never fails a use case.
 */
export const METRIC_UNITS = {
  SessionsRequested: 'Count',
  SessionsReady: 'Count',
  /** request to READY; with a `phase` dimension, each phase of it (lib/domain/time-to-ready.ts) */
  TimeToReady: 'Seconds',
  /** bastions running for live sessions, seen by the reaper each minute */
  ActiveBastions: 'Count',
  /** expiresAt to the bastion gone, per session that was live when its window ended */
  OverstaySeconds: 'Seconds',
  /** the longest any live bastion has outlived its window, each reaper sweep (the alarm) */
  OldestOverdueSeconds: 'Seconds',
  OrphansReaped: 'Count',
  /** sessions that failed before READY */
  ProvisioningFailures: 'Count',
  BreakGlassSessions: 'Count',
  /** alerts and notices that could not be delivered (access is never held back for them) */
  NotificationFailures: 'Count',
} as const;
export type MetricName = keyof typeof METRIC_UNITS;

/** Extra dimensions of one value, beside the service and stage every metric carries. */
export type MetricDimensions = Readonly<Record<string, string>>;

export interface Metrics {
  emit(name: MetricName, value: number, dimensions?: MetricDimensions): void;
}

export const noMetrics: Metrics = { emit() {} };
