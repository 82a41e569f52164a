import { notReadyReason } from '../domain/readiness.ts';
import { isLive, type Session, SessionStatus } from '../domain/session.ts';
import { isNoteworthySweep, overdueSeconds } from '../domain/usage.ts';
import type { OwnedResource } from '../ports/provider.ts';
import { expireApproval } from './approve-session.ts';
import type { AppDeps } from './deps.ts';
import { endSession, failSession, isOverdue } from './end-session.ts';
import { warnExpiring } from './notify.ts';
import { sealRecording } from './seal-recording.ts';

export interface ReapReport {
  /** READY sessions past expiresAt that were ended (the scheduled end did not happen) */
  expired: number;
  /** sessions not READY within the provisioning deadline */
  failed: number;
  /** interrupted ends that were resumed */
  resumed: number;
  orphansDestroyed: number;
  /** orphans that could not go yet (a security group whose ENI is still attached) */
  orphansPending: number;
  errors: number;
  /** requests nobody approved in time, refused */
  approvalsExpired: number;
  /** "expiring soon" notices sent */
  expiryNotices: number;
  /**
   * Orphans that were bastions (instances, sshd processes), found and destroyed. A security
   * group outliving its terminated instance for a minute is routine; a bastion is not.
   */
  orphanBastionsFound: number;
  orphanBastionsReaped: number;
  /** bastions held by live sessions (the ActiveBastions metric) */
  activeBastions: number;
  /** the longest a live bastion had outlived its window when the sweep began */
  oldestOverdueSeconds: number;
  /** ended sessions' recordings that settled and had their head stored */
  recordingsSealed: number;
}

export interface ReapOptions {
  /** most due sessions handled per run; the rest wait a minute */
  limit?: number;
  concurrency?: number;
}

/**
 * Layer 3, every minute. First the due sessions from the sparse index (cost grows with what is
 * overdue, not with what is live; ended sessions whose recordings are settling are among
 * them); then reconciliation: anything a provider holds for this stage that no live session
 * accounts for is destroyed.
 */
export async function reap(deps: AppDeps, options: ReapOptions = {}): Promise<ReapReport> {
  const report: ReapReport = {
    expired: 0,
    failed: 0,
    resumed: 0,
    orphansDestroyed: 0,
    orphansPending: 0,
    errors: 0,
    approvalsExpired: 0,
    expiryNotices: 0,
    orphanBastionsFound: 0,
    orphanBastionsReaped: 0,
    activeBastions: 0,
    oldestOverdueSeconds: 0,
    recordingsSealed: 0,
  };
  const concurrency = options.concurrency ?? 8;
  const startedAt = deps.clock.now();
  const due = await deps.store.listDue(startedAt, options.limit ?? 1000);
  report.oldestOverdueSeconds = Math.max(0, ...due.map((s) => overdueSeconds(s, startedAt)));

  await forEachLimited(due, concurrency, async (session) => {
    try {
      await settleDue(deps, session, report);
    } catch (error) {
      report.errors += 1;
      deps.logger.error('reaper could not settle a due session', { sessionId: session.id, error });
    }
  });

  for (const provider of Object.values(deps.providers)) {
    if (!provider) continue;
    let owned: OwnedResource[];
    try {
      owned = await provider.listOwned();
    } catch (error) {
      report.errors += 1;
      deps.logger.error('reaper could not list provider resources', { mode: provider.mode, error });
      continue;
    }
    const liveness = await sessionLiveness(deps, owned);
    await forEachLimited(owned, concurrency, async (resource) => {
      const bastion = resource.kind !== 'security-group';
      if (resource.sessionId && liveness.get(resource.sessionId)) {
        if (bastion) report.activeBastions += 1;
        return;
      }
      if (bastion) report.orphanBastionsFound += 1;
      try {
        const outcome = await provider.destroy(resource);
        if (outcome === 'destroyed') report.orphansDestroyed += 1;
        else report.orphansPending += 1;
        if (outcome === 'destroyed' && bastion) report.orphanBastionsReaped += 1;
        deps.logger.warn('orphan reaped', { resource, outcome });
      } catch (error) {
        report.errors += 1;
        deps.logger.error('could not destroy an orphan', { resource, error });
      }
    });
  }
  await publishSweep(deps, report, startedAt);
  return report;
}

/**
 * Metrics on every sweep (so a reaper that stops running is itself noticed: its alarm treats
 * missing data as breaching), and a day record for the usage report when it found anything.
 */
async function publishSweep(deps: AppDeps, report: ReapReport, at: number): Promise<void> {
  deps.metrics?.emit('OrphansReaped', report.orphanBastionsReaped);
  deps.metrics?.emit('ActiveBastions', report.activeBastions);
  deps.metrics?.emit('OldestOverdueSeconds', report.oldestOverdueSeconds);
  const sweep = {
    orphansFound: report.orphanBastionsFound,
    orphansReaped: report.orphanBastionsReaped,
    expired: report.expired,
    failed: report.failed,
  };
  if (!isNoteworthySweep(sweep)) return;
  try {
    await deps.store.recordReaperSweep(at, sweep);
  } catch (error) {
    report.errors += 1;
    deps.logger.error('could not record the sweep for the usage report', { sweep, error });
  }
}

async function settleDue(deps: AppDeps, session: Session, report: ReapReport): Promise<void> {
  const now = deps.clock.now();
  switch (session.status) {
    case SessionStatus.READY:
      if (session.expiresAt !== undefined && session.expiresAt <= now) {
        await endSession(deps, session, {
          reason: 'expired',
          actor: 'reaper',
          stillDue: (fresh, at) => isOverdue(fresh, at),
        });
        report.expired += 1;
      } else if (session.expiryWarningAt !== undefined && session.expiryWarningAt <= now) {
        // Due early for its "expiring soon" notice (dueAtFor); due again at expiresAt after.
        await warnExpiring(deps, session);
        report.expiryNotices += 1;
      }
      return;
    case SessionStatus.PENDING_APPROVAL:
      if (session.approval !== undefined && session.approval.deadline <= now) {
        await expireApproval(deps, session);
        report.approvalsExpired += 1;
      }
      return;
    case SessionStatus.ENDING:
      await endSession(deps, session, { reason: session.endReason ?? 'expired', actor: 'reaper' });
      report.resumed += 1;
      return;
    // Over, but its recording's last chunks may have been on their way (lib/domain/due.ts).
    case SessionStatus.ENDED:
      if ((await sealRecording(deps, session)) === 'sealed') report.recordingsSealed += 1;
      return;
    case SessionStatus.REQUESTED:
    case SessionStatus.PROVISIONING:
      if (session.provisioningDeadline <= now) {
        await failSession(deps, session, notReadyReason(session), 'reaper');
        report.failed += 1;
      }
      return;
    default:
      return;
  }
}

/** One batched, consistent read for every session that owns a cloud resource. */
async function sessionLiveness(
  deps: AppDeps,
  owned: readonly OwnedResource[],
): Promise<Map<string, boolean>> {
  const ids = [
    ...new Set(owned.flatMap((resource) => (resource.sessionId ? [resource.sessionId] : []))),
  ];
  const liveness = new Map<string, boolean>();
  try {
    const sessions = await deps.store.getMany(ids);
    for (const id of ids) {
      const session = sessions.get(id);
      liveness.set(id, session !== undefined && isLive(session.status));
    }
  } catch (error) {
    // When in doubt, keep: destroying a live session's bastion is worse than a minute's delay.
    for (const id of ids) liveness.set(id, true);
    deps.logger.error('could not read sessions during reconciliation; nothing destroyed this run', {
      error,
    });
  }
  return liveness;
}

export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      if (item !== undefined) await work(item);
    }
  });
  await Promise.all(workers);
}
