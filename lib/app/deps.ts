import type { Policy } from '../domain/policy.ts';
import type { Mode } from '../domain/session.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { ExpiryScheduler } from '../ports/expiry-scheduler.ts';
import type { Logger } from '../ports/logger.ts';
import type { Provider, Providers } from '../ports/provider.ts';
import type { ProvisionQueue } from '../ports/provision-queue.ts';
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
}

export function providerFor(providers: Providers, mode: Mode): Provider {
  const provider = providers[mode];
  // A policy naming a mode this deployment does not wire is a configuration error, not user error.
  if (!provider) throw new Error(`no provider is configured for mode '${mode}'`);
  return provider;
}
