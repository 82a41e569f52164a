import type { Policy } from '../domain/policy.ts';
import type { Mode } from '../domain/session.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { ExpiryScheduler } from '../ports/expiry-scheduler.ts';
import type { Logger } from '../ports/logger.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { Notifier } from '../ports/notifier.ts';
import type { Provider, Providers, TargetChecks } from '../ports/provider.ts';
import type { ProvisionQueue } from '../ports/provision-queue.ts';
import type { RecordingReader } from '../ports/recording-reader.ts';
import type { SessionLog } from '../ports/session-log.ts';
import type { SessionStore } from '../ports/session-store.ts';

/** Everything a use case may need; each use case names the subset it uses. */
export interface AppDeps {
  policy: Policy;
  store: SessionStore;
  providers: Providers;
  scheduler: ExpiryScheduler;
  queue: ProvisionQueue;
  auditLog: AuditLog;
  clock: Clock;
  logger: Logger;
  /** CloudWatch metrics in Lambda; absent (nothing emitted) in local mode and most tests */
  metrics?: Metrics;
  /**
   * Alerts and notices (SNS in AWS, a log file locally). Absent means none are sent: a
   * break-glass request then says so in its answer (lib/app/notify.ts).
   */
  notifier?: Notifier;
  /** the bastion's sshd log (CloudWatch Logs, or sshd.log locally): who connected, from where */
  sessionLog?: SessionLog;
  /** recorded sessions' recordings (CloudWatch Logs, or the local log store) */
  recordings?: RecordingReader;
  /** checks made before a session is created, per mode (ssm: the instance is Online); optional */
  targetChecks?: TargetChecks;
}

export function providerFor(providers: Providers, mode: Mode): Provider {
  const provider = providers[mode];
  // A policy naming a mode this deployment does not wire is a configuration error, not user error.
  if (!provider) throw new Error(`no provider is configured for mode '${mode}'`);
  return provider;
}
