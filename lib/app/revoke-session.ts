import type { Identity, Session } from '../domain/session.ts';
import type { AppDeps } from './deps.ts';
import { endSession } from './end-session.ts';
import { loadVisibleSession } from './sessions-query.ts';

/** DELETE /sessions/{id}: the owner or an admin ends the session now. */
export async function revokeSession(
  deps: AppDeps,
  identity: Identity,
  id: string,
): Promise<Session> {
  const session = await loadVisibleSession(deps, identity, id);
  return endSession(deps, session, { reason: 'revoked', actor: identity.subject });
}
