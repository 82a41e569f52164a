import { formatMinutes } from '../domain/durations.ts';
import type { Target } from '../domain/policy.ts';
import type { NotifyEvent, Session } from '../domain/session.ts';
import type { Notification, NotificationField } from '../ports/notifier.ts';
import type { AppDeps } from './deps.ts';
import { applyEvent } from './record.ts';

const iso = (epochMs: number | undefined): string =>
  epochMs === undefined ? 'unknown' : new Date(epochMs).toISOString();

const who = (session: Session): NotificationField => ({
  label: 'Who',
  value:
    session.ownerGroups.length > 0
      ? `${session.owner} (groups: ${session.ownerGroups.join(', ')})`
      : session.owner,
});

const where = (session: Session, target: Target | undefined): NotificationField => ({
  label: 'Target',
  value: target
    ? `${session.target} (${session.mode}, ${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port})`
    : `${session.target} (${session.mode})`,
});

const from = (session: Session): NotificationField => ({ label: 'From', value: session.sourceIp });
const why = (session: Session): NotificationField => ({ label: 'Why', value: session.reason });
const id = (session: Session): NotificationField => ({ label: 'Session', value: session.id });

function base(
  session: Session,
  now: number,
): Pick<Notification, 'sessionId' | 'target' | 'owner' | 'at'> {
  return { sessionId: session.id, target: session.target, owner: session.owner, at: now };
}

/** The alert the security channel gets the moment someone breaks glass. */
export function breakGlassAlert(
  session: Session,
  target: Target | undefined,
  now: number,
): Notification {
  const incident = session.incidentId ?? 'none given';
  return {
    ...base(session, now),
    kind: 'break-glass',
    severity: 'critical',
    title: `BREAK-GLASS: ${session.owner} is opening ${session.target} (${incident})`,
    summary: `${session.owner} used break-glass to reach ${session.target} without approval. The access is live as soon as the bridge is up; an admin must review it afterwards.`,
    fields: [
      who(session),
      where(session, target),
      from(session),
      why(session),
      { label: 'Incident', value: incident },
      {
        label: 'Until',
        value: `${formatMinutes(session.durationMinutes)} from when the bridge is up; at the latest ${iso(session.credentialExpiresAt)}`,
      },
      id(session),
    ],
    nextSteps: [
      `drawbridge show ${session.id}`,
      `drawbridge end ${session.id}   (an admin can end it now)`,
      `drawbridge reviews   (mark the review once looked at)`,
    ],
  };
}

export function approvalRequest(
  session: Session,
  target: Target | undefined,
  now: number,
): Notification {
  return {
    ...base(session, now),
    kind: 'approval-requested',
    severity: 'warning',
    title: `Approval needed: ${session.owner} asks for ${session.target} for ${formatMinutes(session.durationMinutes)}`,
    summary: `${session.owner} waits for a member of ${session.approval?.approverGroups.join(', ') ?? 'the approver groups'} to approve access to ${session.target}. The requester cannot approve it.`,
    fields: [
      who(session),
      where(session, target),
      from(session),
      why(session),
      { label: 'Duration', value: formatMinutes(session.durationMinutes) },
      { label: 'Decide by', value: iso(session.approval?.deadline) },
      id(session),
    ],
    nextSteps: [
      `drawbridge approve ${session.id} --comment "..."`,
      `drawbridge deny ${session.id} --comment "..."`,
    ],
  };
}

export function grantedNotice(
  session: Session,
  target: Target | undefined,
  now: number,
): Notification {
  return {
    ...base(session, now),
    kind: 'granted',
    severity: session.breakGlass ? 'critical' : 'info',
    title: `Access granted: ${session.owner} on ${session.target} until ${iso(session.expiresAt)}`,
    summary: `The bridge to ${session.target} is up for ${session.owner}${session.breakGlass ? ` (break-glass, ${session.incidentId ?? 'no incident'})` : ''}.`,
    fields: [
      who(session),
      where(session, target),
      from(session),
      why(session),
      { label: 'Until', value: iso(session.expiresAt) },
      id(session),
    ],
    nextSteps: [`drawbridge end ${session.id}`],
  };
}

export function expiringNotice(session: Session, now: number): Notification {
  const minutes = Math.max(0, Math.round(((session.expiresAt ?? now) - now) / 60_000));
  return {
    ...base(session, now),
    kind: 'expiring',
    severity: 'warning',
    title: `Expiring in ${minutes} min: ${session.owner} on ${session.target}`,
    summary: `The bridge to ${session.target} goes down at ${iso(session.expiresAt)}; live connections are cut then.`,
    fields: [
      who(session),
      { label: 'Target', value: session.target },
      { label: 'Ends', value: iso(session.expiresAt) },
      id(session),
    ],
    nextSteps: [`drawbridge extend ${session.id} --by 15m --reason "..."`],
  };
}

export function endedNotice(session: Session, now: number): Notification {
  const used =
    session.readyAt !== undefined && session.endedAt !== undefined
      ? formatMinutes(Math.max(0, Math.round((session.endedAt - session.readyAt) / 60_000)))
      : 'never connected';
  return {
    ...base(session, now),
    kind: 'ended',
    severity: session.breakGlass ? 'warning' : 'info',
    title: `Access ended: ${session.owner} on ${session.target} (${session.endReason ?? session.status.toLowerCase()})`,
    summary: `The bridge to ${session.target} is down and its resources are released.`,
    fields: [
      who(session),
      { label: 'Target', value: session.target },
      {
        label: 'Ended',
        value: `${iso(session.endedAt)} (${session.endReason ?? 'ended'}${session.failureReason ? `: ${session.failureReason}` : ''})`,
      },
      { label: 'Open for', value: used },
      id(session),
    ],
    nextSteps: [`drawbridge events ${session.id}`],
  };
}

export type NotifyOutcome = 'sent' | 'failed' | 'off';

type NotifyDeps = Pick<AppDeps, 'logger' | 'notifier' | 'metrics'>;

/**
 * Delivers a notification without ever standing in the way: a failure is logged and counted
 * (the NotificationFailures metric, which an alarm watches) and reported to the caller, who
 * decides whether to tell the person. Access is never held back for a notification.
 */
export async function notify(deps: NotifyDeps, notification: Notification): Promise<NotifyOutcome> {
  if (!deps.notifier) return 'off';
  try {
    await deps.notifier.publish(notification);
    return 'sent';
  } catch (error) {
    deps.logger.error('notification not delivered', {
      correlation_id: notification.sessionId,
      kind: notification.kind,
      error,
    });
    deps.metrics?.emit('NotificationFailures', 1);
    return 'failed';
  }
}

/** The notices a session asked for when it was requested (Session.notify). */
export async function notifySession(
  deps: NotifyDeps & Pick<AppDeps, 'clock'> & Partial<Pick<AppDeps, 'policy'>>,
  session: Session,
  event: NotifyEvent,
): Promise<NotifyOutcome> {
  if (!session.notify?.includes(event)) return 'off';
  const now = deps.clock.now();
  const target = deps.policy?.targets.find((candidate) => candidate.name === session.target);
  switch (event) {
    case 'granted':
      return notify(deps, grantedNotice(session, target, now));
    case 'expiring':
      return notify(deps, expiringNotice(session, now));
    case 'ended':
      return notify(deps, endedNotice(session, now));
  }
}

/** What a break-glass answer says about its alert: people must know when nobody was told. */
export function alertView(outcome: NotifyOutcome | undefined): {
  alert?: NotifyOutcome;
  notices?: string[];
} {
  if (outcome === undefined) return {};
  if (outcome === 'sent') return { alert: outcome };
  return {
    alert: outcome,
    notices: [
      outcome === 'failed'
        ? 'the security alert could not be sent (access is not held back for it): tell your security channel yourself'
        : 'this deployment has no alert channel configured: tell your security channel yourself',
    ],
  };
}

/**
 * The reaper found a READY session whose "expiring soon" notice is due: record that it went
 * out (the write comes first, so two reapers never send it twice), then send it. A lost notice
 * is logged and counted, not retried: the window ends on time either way.
 */
export async function warnExpiring(
  deps: Pick<
    AppDeps,
    'store' | 'auditLog' | 'clock' | 'logger' | 'notifier' | 'metrics' | 'policy'
  >,
  session: Session,
): Promise<Session> {
  const warned = await applyEvent(
    deps,
    session,
    { type: 'warn' },
    {
      type: 'expiry-notice',
      actor: 'reaper',
      detail: { expiresAt: new Date(session.expiresAt ?? 0).toISOString() },
    },
  );
  await notifySession(deps, warned, 'expiring');
  return warned;
}
