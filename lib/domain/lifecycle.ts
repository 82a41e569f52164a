import { IllegalTransitionError } from './errors.ts';
import {
  type Connection,
  type EndReason,
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
  | { type: 'attach'; resources: SessionResources }
  | { type: 'ready'; connection: Connection; resources?: SessionResources }
  | { type: 'end'; reason: EndReason; detail?: string }
  | { type: 'ended' }
  | { type: 'fail'; reason: string };

export type LifecycleEventType = LifecycleEvent['type'];

const { REQUESTED, PROVISIONING, READY, ENDING, ENDED, FAILED } = SessionStatus;

/** The legal edges: event type → statuses it may start from → status it leads to. */
export const TRANSITIONS: Readonly<
  Record<LifecycleEventType, { from: readonly SessionStatus[]; to: SessionStatus | 'same' }>
> = {
  provision: { from: [REQUESTED], to: PROVISIONING },
  attach: { from: [PROVISIONING], to: 'same' },
  ready: { from: [PROVISIONING], to: READY },
  end: { from: [REQUESTED, PROVISIONING, READY], to: ENDING },
  ended: { from: [ENDING], to: ENDED },
  fail: { from: [REQUESTED, PROVISIONING, READY, ENDING], to: FAILED },
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
    case 'attach':
      return { ...base, resources: { ...session.resources, ...event.resources } };
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
      return {
        ...base,
        readyAt: now,
        expiresAt,
        connection: event.connection,
        resources: { ...session.resources, ...event.resources },
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
      return { ...base, endedAt: now };
    case 'fail':
      return {
        ...base,
        endedAt: now,
        endReason: 'failed',
        failureReason: event.reason.slice(0, MAX_FAILURE_REASON_LENGTH),
      };
  }
}
