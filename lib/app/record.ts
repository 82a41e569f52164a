import type { LifecycleEvent } from '../domain/lifecycle.ts';
import { transition } from '../domain/lifecycle.ts';
import type { Session } from '../domain/session.ts';
import type { AuditDraft } from '../ports/session-store.ts';
import type { AppDeps } from './deps.ts';

/**
 * Applies a lifecycle event and persists it with its audit event in one conditional write,
 * then mirrors the audit event to the log sink. The single path every state change takes.
 */
export async function applyEvent(
  deps: Pick<AppDeps, 'store' | 'auditLog' | 'clock'>,
  session: Session,
  event: LifecycleEvent,
  audit: Omit<AuditDraft, 'type'> & { type?: string },
): Promise<Session> {
  const next = transition(session, event, deps.clock.now());
  const result = await deps.store.transition(session, next, {
    ...audit,
    type: audit.type ?? event.type,
    // Every event of a break-glass session says so, wherever the trail is read.
    ...(session.breakGlass
      ? {
          detail: {
            ...audit.detail,
            breakGlass: true,
            ...(session.incidentId ? { incidentId: session.incidentId } : {}),
          },
        }
      : {}),
  });
  deps.auditLog.record(result.event);
  return result.session;
}
