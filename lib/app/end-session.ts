import { StaleSessionError } from '../domain/errors.ts';
import type { LifecycleEvent } from '../domain/lifecycle.ts';
import { RECORDING_SEAL_DEADLINE_MS, settleRecording } from '../domain/recording-chain.ts';
import { type EndReason, type Session, SessionStatus } from '../domain/session.ts';
import { overstaySeconds } from '../domain/usage.ts';
import { type AppDeps, providerFor } from './deps.ts';
import { notifySession } from './notify.ts';
import { applyEvent } from './record.ts';

type EndDeps = Pick<
  AppDeps,
  'store' | 'providers' | 'scheduler' | 'auditLog' | 'clock' | 'logger' | 'metrics' | 'notifier'
> &
  Partial<Pick<AppDeps, 'recordings'>>;

export interface EndRequest {
  reason: EndReason;
  actor: string;
  detail?: string;
  /**
   * For ends decided by time (scheduler, reaper): if the first write loses a race, the fresh
   * copy is ended only if this still holds, so an extension that landed first is kept.
   */
  stillDue?: (fresh: Session, now: number) => boolean;
}

/** READY past expiresAt (within a tolerance), or an end already under way. */
export function isOverdue(session: Session, now: number, toleranceMs = 0): boolean {
  if (session.status === SessionStatus.ENDING) return true;
  return (
    session.status === SessionStatus.READY &&
    session.expiresAt !== undefined &&
    session.expiresAt <= now + toleranceMs
  );
}

const MAX_RACE_RETRIES = 3;

/**
 * Takes a session down: ENDING (recorded first, so a crash part-way is retried by the reaper,
 * which sees ENDING sessions as due), release the bastion, drop the schedule, then ENDED, which
 * gives the quota back. Idempotent: ending an ended session returns it unchanged. If the
 * provider cannot release yet the session stays ENDING and the reaper tries again.
 */
export function endSession(deps: EndDeps, session: Session, request: EndRequest): Promise<Session> {
  const { stillDue } = request;
  return retryOnStale(
    deps,
    session,
    (current) => endOnce(deps, current, request),
    stillDue ? (fresh) => stillDue(fresh, deps.clock.now()) : () => true,
  );
}

/**
 * Re-reads and retries when someone else moved the session first (scheduler, reaper, revoke
 * and extend can race). The fresh copy is acted on only if the reason to act still applies.
 */
async function retryOnStale(
  deps: Pick<AppDeps, 'store'>,
  session: Session,
  step: (current: Session) => Promise<Session>,
  stillApplies: (fresh: Session) => boolean,
): Promise<Session> {
  let current = session;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await step(current);
    } catch (error) {
      if (!(error instanceof StaleSessionError) || attempt >= MAX_RACE_RETRIES) throw error;
      const fresh = await deps.store.get(current.id);
      if (!fresh) throw error;
      if (!stillApplies(fresh)) return fresh;
      current = fresh;
    }
  }
}

async function endOnce(deps: EndDeps, session: Session, request: EndRequest): Promise<Session> {
  if (session.status === SessionStatus.ENDED || session.status === SessionStatus.FAILED)
    return session;
  let current = session;
  if (current.status !== SessionStatus.ENDING) {
    current = await applyEvent(
      deps,
      current,
      {
        type: 'end',
        reason: request.reason,
        ...(request.detail ? { detail: request.detail } : {}),
      },
      { actor: request.actor, detail: { reason: request.reason } },
    );
  }
  try {
    await providerFor(deps.providers, current.mode).release(current);
  } catch (error) {
    deps.logger.error('release failed; the reaper will retry', { sessionId: current.id, error });
    return current;
  }
  try {
    await deps.scheduler.cancel(current);
  } catch (error) {
    // A leftover one-time schedule only invokes expire on an ended session, which is a no-op.
    deps.logger.warn('could not delete the expiry schedule', { sessionId: current.id, error });
  }
  const ended = await applyEvent(
    deps,
    current,
    { type: 'ended', ...(await recordingAtEnd(deps, current)) },
    { actor: request.actor, detail: { reason: current.endReason ?? request.reason } },
  );
  const overstay = overstaySeconds(ended, deps.clock.now());
  if (overstay !== undefined) deps.metrics?.emit('OverstaySeconds', overstay);
  // Only sessions that were usable: a request revoked before READY granted nothing.
  if (ended.readyAt !== undefined) await notifySession(deps, ended, 'ended');
  return ended;
}

/**
 * A recorded session's recording once its bastion is gone. Where nothing can still be on its
 * way (local: the recorder's own file), its head is read now and stored in the 'ended' write.
 * Elsewhere (ec2: the agent ships every few seconds, and the end chunks of the connections the
 * termination cut are written after it) a head read now would be early: later chunks would
 * look appended to it. The session then ends without one and the reaper seals the recording
 * once it has settled (lib/app/seal-recording.ts). A store unreadable now is left to the
 * reaper too.
 */
async function recordingAtEnd(
  deps: EndDeps,
  session: Session,
): Promise<Pick<Extract<LifecycleEvent, { type: 'ended' }>, 'recordingHead' | 'recordingSettle'>> {
  if (session.recording !== 'full' || !deps.recordings) return {};
  const now = deps.clock.now();
  const wait = deps.recordings.lateArrivalMs;
  const settle = { checkAt: now + wait, deadline: now + wait + RECORDING_SEAL_DEADLINE_MS };
  if (wait > 0) return { recordingSettle: settle };
  try {
    const stored = await deps.recordings.read(session);
    // Only the beginning was read: its last chunk is not the head. The reaper seals it (headless).
    if (stored.partial) return { recordingSettle: settle };
    const head = stored.kind === 'chunks' ? settleRecording(session.id, stored.lines) : undefined;
    return head ? { recordingHead: head } : {};
  } catch (error) {
    deps.logger.warn('could not read the recording; the reaper will seal it', {
      sessionId: session.id,
      error,
    });
    return { recordingSettle: settle };
  }
}

/**
 * For sessions that never became usable: release whatever was created and record FAILED with
 * a reason the owner can read. Resources the provider could not release are left to the
 * reaper's reconciliation, which finds them by tag once the session is no longer live.
 */
export function failSession(
  deps: EndDeps,
  session: Session,
  reason: string,
  actor = 'drawbridge',
): Promise<Session> {
  // A session that became READY while we decided to fail it (the reaper reads an eventually
  // consistent index) is not failed on the retry: it made it in time.
  return retryOnStale(
    deps,
    session,
    (current) =>
      // Someone else's end (a revoke, an expiry) was recorded first: the first intent to end
      // wins, so finish that end with its own reason instead of overwriting it with FAILED.
      current.status === SessionStatus.ENDING
        ? endOnce(deps, current, { reason: current.endReason ?? 'failed', actor })
        : failOnce(deps, current, reason, actor),
    (fresh) => fresh.status !== SessionStatus.READY || session.status === SessionStatus.READY,
  );
}

async function failOnce(
  deps: EndDeps,
  session: Session,
  reason: string,
  actor: string,
): Promise<Session> {
  if (session.status === SessionStatus.ENDED || session.status === SessionStatus.FAILED)
    return session;
  try {
    await providerFor(deps.providers, session.mode).release(session);
  } catch (error) {
    deps.logger.error('release failed while failing the session; reconciliation will clean up', {
      sessionId: session.id,
      error,
    });
  }
  try {
    await deps.scheduler.cancel(session);
  } catch {
    // nothing scheduled yet in the usual case
  }
  const failed = await applyEvent(
    deps,
    session,
    { type: 'fail', reason },
    { actor, detail: { reason } },
  );
  const neverReady = [SessionStatus.REQUESTED, SessionStatus.PROVISIONING] as string[];
  if (neverReady.includes(session.status)) {
    deps.metrics?.emit('ProvisioningFailures', 1);
  }
  return failed;
}
