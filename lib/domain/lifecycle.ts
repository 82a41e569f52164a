import { ForbiddenError, IllegalTransitionError } from './errors.ts';
import { expiryWarningAt, planExtension } from './extension.ts';
import type { HostKey } from './host-key.ts';
import type { ChainCheckpoint, RecordingHead } from './recording-chain.ts';
import {
  type Connection,
  type EndReason,
  type RecordingSettle,
  type Session,
  type SessionResources,
  SessionStatus,
} from './session.ts';

/**
 * Everything that can happen to a session. The lifecycle is a pure function of the session,
 * the event and the time; persisting the result is a conditional write on the status and
 * version that `transition` was computed from (see SessionStore.transition).
 */
export type LifecycleEvent =
  | { type: 'provision'; resources?: SessionResources }
  /**
   * The launch call returned: what the provider created, when the call was sent, and the
   * public half of the host key handed to the bastion.
   */
  | { type: 'attach'; resources: SessionResources; launchSentAt?: number; hostKey?: HostKey }
  /** The provider reports the bastion running: a progress signal, READY waits for its proof. */
  | { type: 'running' }
  | { type: 'ready'; connection: Connection; resources?: SessionResources }
  | { type: 'end'; reason: EndReason; detail?: string }
  /**
   * The bastion is released. A recorded session carries where its recording's chain ended, or,
   * while its last chunks may still be on their way, when to look again (RecordingSettle).
   */
  | { type: 'ended'; recordingHead?: RecordingHead; recordingSettle?: RecordingSettle }
  /** An ended session's recording settled (closed, or its deadline passed): its head, if any. */
  | { type: 'seal-recording'; recordingHead?: RecordingHead }
  /**
   * The reaper read one bounded step of a recording too long for one read: where it stopped,
   * and when to read on (RecordingSettle.read). The head is sealed only once the end is reached.
   */
  | { type: 'recording-read-progress'; read: ChainCheckpoint; checkAt: number }
  | { type: 'fail'; reason: string }
  /**
   * An approver said yes: the session joins the normal flow as REQUESTED. The window starts
   * at READY, so the provisioning deadline and the key's bound are computed now, not at request.
   */
  | {
      type: 'approve';
      by: string;
      comment?: string;
      provisioningDeadline: number;
      credentialExpiresAt: number;
    }
  | { type: 'deny'; by: string; comment?: string }
  /** More time, within the policy's maximum total and the key's bound (lib/domain/extension.ts). */
  | { type: 'extend'; byMinutes: number; maxTotalMinutes: number; canRewriteKey: boolean }
  /** The "expiring soon" notice went out. */
  | { type: 'warn' }
  /**
   * ssm: temporary credentials were issued to the owner. Changes nothing but the version, so
   * the audit event is appended in the same conditional write as every other event.
   */
  | { type: 'grant' }
  /**
   * Something worth the trail happened that changes nothing but the version, in any status: a
   * replay or export of the recording (most are watched after the end), an idle disconnect.
   * Its audit event joins the chain like any other.
   */
  | { type: 'note' };

export type LifecycleEventType = LifecycleEvent['type'];

const { REQUESTED, PENDING_APPROVAL, PROVISIONING, READY, ENDING, ENDED, FAILED } = SessionStatus;

/** The legal edges: event type → statuses it may start from → status it leads to. */
export const TRANSITIONS: Readonly<
  Record<LifecycleEventType, { from: readonly SessionStatus[]; to: SessionStatus | 'same' }>
> = {
  provision: { from: [REQUESTED], to: PROVISIONING },
  attach: { from: [PROVISIONING], to: 'same' },
  running: { from: [PROVISIONING], to: 'same' },
  ready: { from: [PROVISIONING], to: READY },
  end: { from: [REQUESTED, PENDING_APPROVAL, PROVISIONING, READY], to: ENDING },
  ended: { from: [ENDING], to: ENDED },
  'seal-recording': { from: [ENDED], to: 'same' },
  'recording-read-progress': { from: [ENDED], to: 'same' },
  fail: { from: [REQUESTED, PENDING_APPROVAL, PROVISIONING, READY, ENDING], to: FAILED },
  approve: { from: [PENDING_APPROVAL], to: REQUESTED },
  // Nothing was launched for a pending request, so a refusal ends it without ENDING.
  deny: { from: [PENDING_APPROVAL], to: ENDED },
  extend: { from: [READY], to: 'same' },
  warn: { from: [READY], to: 'same' },
  grant: { from: [READY], to: 'same' },
  note: { from: Object.values(SessionStatus), to: 'same' },
};

export const MAX_FAILURE_REASON_LENGTH = 300;

export function canTransition(status: SessionStatus, type: LifecycleEventType): boolean {
  return TRANSITIONS[type].from.includes(status);
}

export function transition(session: Session, event: LifecycleEvent, now: number): Session {
  const edge = TRANSITIONS[event.type];
  if (!edge.from.includes(session.status)) {
    throw new IllegalTransitionError(
      `a ${session.status} session cannot take the '${event.type}' event`,
    );
  }
  const status = edge.to === 'same' ? session.status : edge.to;
  const base: Session = { ...session, status, version: session.version + 1, updatedAt: now };

  switch (event.type) {
    case 'provision':
      return { ...base, resources: { ...session.resources, ...event.resources } };
    case 'attach':
      return {
        ...base,
        resources: { ...session.resources, ...event.resources },
        ...(event.launchSentAt !== undefined ? { launchSentAt: event.launchSentAt } : {}),
        ...(event.hostKey
          ? {
              hostKey: {
                publicKey: event.hostKey.publicKey,
                fingerprint: event.hostKey.fingerprint,
              },
            }
          : {}),
      };
    case 'running':
      // The first report counts; a redelivered event does not move the phase.
      return { ...base, bastionRunningAt: session.bastionRunningAt ?? now };
    case 'ready': {
      if (now > session.provisioningDeadline) {
        throw new IllegalTransitionError(
          'the provisioning deadline passed before the bastion was ready',
        );
      }
      // The window starts at READY, and never runs past the bound already baked into the
      // key's expiry-time and the on-host self-destruct at launch.
      const expiresAt = Math.min(
        now + session.durationMinutes * 60_000,
        session.credentialExpiresAt,
      );
      const { expiryWarningAt: _owed, ...rest } = base;
      const warnAt = expiryWarningAt(session, expiresAt, now);
      return {
        ...rest,
        readyAt: now,
        // A proof of readiness implies a running bastion, whichever signal was handled first.
        bastionRunningAt: session.bastionRunningAt ?? now,
        expiresAt,
        connection: event.connection,
        resources: { ...session.resources, ...event.resources },
        ...(warnAt !== undefined ? { expiryWarningAt: warnAt } : {}),
      };
    }
    case 'end':
      return {
        ...base,
        endReason: event.reason,
        ...(event.detail
          ? { failureReason: event.detail.slice(0, MAX_FAILURE_REASON_LENGTH) }
          : {}),
      };
    case 'ended':
      return {
        ...base,
        endedAt: now,
        ...(event.recordingHead ? { recordingHead: { ...event.recordingHead } } : {}),
        ...(event.recordingSettle ? { recordingSettle: { ...event.recordingSettle } } : {}),
      };
    case 'seal-recording': {
      // Once: a second seal (a reaper run racing another) must not move the head.
      if (!session.recordingSettle)
        throw new IllegalTransitionError("this session's recording is already sealed");
      const { recordingSettle: _sealed, ...rest } = base;
      return {
        ...rest,
        ...(event.recordingHead ? { recordingHead: { ...event.recordingHead } } : {}),
      };
    }
    case 'recording-read-progress': {
      const settle = session.recordingSettle;
      if (!settle) throw new IllegalTransitionError("this session's recording is already sealed");
      return {
        ...base,
        recordingSettle: {
          checkAt: event.checkAt,
          deadline: settle.deadline,
          read: { ...event.read, open: [...event.read.open] },
        },
      };
    }
    case 'fail':
      return {
        ...base,
        endedAt: now,
        endReason: 'failed',
        failureReason: event.reason.slice(0, MAX_FAILURE_REASON_LENGTH),
      };
    case 'approve':
      return approve(base, event, now);
    case 'deny': {
      const approval = decide(base, event.by, now, event.comment);
      const why = event.comment
        ? `denied by ${event.by}: ${event.comment}`
        : `denied by ${event.by}`;
      return {
        ...approval,
        endedAt: now,
        endReason: 'denied',
        failureReason: why.slice(0, MAX_FAILURE_REASON_LENGTH),
      };
    }
    case 'extend':
      return {
        ...base,
        ...planExtension(session, {
          byMinutes: event.byMinutes,
          maxTotalMinutes: event.maxTotalMinutes,
          canRewriteKey: event.canRewriteKey,
          now,
        }),
      };
    case 'warn': {
      const { expiryWarningAt: _sent, ...warned } = base;
      return warned;
    }
    case 'note':
      return base;
    case 'grant':
      if (session.expiresAt === undefined || now >= session.expiresAt) {
        throw new IllegalTransitionError('the window has ended: no more credentials');
      }
      return base;
  }
}

/** Records who decided; the requester never decides on their own request. */
function decide(session: Session, by: string, now: number, comment?: string): Session {
  if (!session.approval) {
    throw new IllegalTransitionError('this session was not waiting for an approval');
  }
  if (by === session.owner) {
    throw new ForbiddenError('you cannot approve or deny your own request');
  }
  return {
    ...session,
    approval: {
      ...session.approval,
      decidedBy: by,
      decidedAt: now,
      ...(comment ? { comment: comment.slice(0, MAX_FAILURE_REASON_LENGTH) } : {}),
    },
  };
}

function approve(
  base: Session,
  event: Extract<LifecycleEvent, { type: 'approve' }>,
  now: number,
): Session {
  const decided = decide(base, event.by, now, event.comment);
  if (decided.approval && now > decided.approval.deadline) {
    throw new IllegalTransitionError('the approval window closed before this approval');
  }
  if (
    event.provisioningDeadline <= now ||
    event.credentialExpiresAt <= event.provisioningDeadline
  ) {
    throw new IllegalTransitionError('an approval must give the session a future window');
  }
  return {
    ...decided,
    provisioningDeadline: event.provisioningDeadline,
    credentialExpiresAt: event.credentialExpiresAt,
  };
}
