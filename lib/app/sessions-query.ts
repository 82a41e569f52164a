import type { AuditEvent } from '../domain/audit.ts';
import { ForbiddenError, NotFoundError } from '../domain/errors.ts';
import { isAdmin } from '../domain/policy.ts';
import { type Identity, isSessionId, type Session, type SessionStatus } from '../domain/session.ts';
import type { ConnectionRecord } from '../domain/sshd-log.ts';
import type { Logger } from '../ports/logger.ts';
import type { SessionLog } from '../ports/session-log.ts';
import type { Page } from '../ports/session-store.ts';
import type { AppDeps } from './deps.ts';

type QueryDeps = Pick<AppDeps, 'policy' | 'store'>;

/**
 * The session if the caller owns it or is an admin, or (for a use case that lets them) if
 * `alsoSees` admits them: an approver, an auditor. Anyone else's id answers exactly like an id
 * that does not exist, so ids cannot be probed.
 */
export async function loadVisibleSession(
  deps: QueryDeps,
  identity: Identity,
  id: string,
  alsoSees: (session: Session) => boolean = () => false,
): Promise<Session> {
  if (!isSessionId(id)) throw new NotFoundError();
  const session = await deps.store.get(id);
  if (
    !session ||
    (session.owner !== identity.subject && !isAdmin(deps.policy, identity) && !alsoSees(session))
  ) {
    throw new NotFoundError();
  }
  return session;
}

export const getSession = loadVisibleSession;

export interface SessionHistory {
  events: AuditEvent[];
  /** from the bastion's own log; undefined when it could not be read right now */
  connections?: ConnectionRecord[];
}

/** The audit trail, and who connected from where according to the bastion's sshd log. */
export async function listSessionEvents(
  deps: QueryDeps & { sessionLog?: SessionLog | undefined; logger?: Logger },
  identity: Identity,
  id: string,
): Promise<SessionHistory> {
  const session = await loadVisibleSession(deps, identity, id);
  const [events, connections] = await Promise.all([
    deps.store.listEvents(session.id),
    deps.sessionLog?.connections(session).catch((error: unknown) => {
      deps.logger?.warn('could not read the session log', { sessionId: session.id, error });
      return undefined;
    }),
  ]);
  return { events, ...(connections ? { connections } : {}) };
}

export interface ListSessionsInput {
  limit: number;
  cursor?: string | undefined;
  /** admins only: everyone's sessions */
  all?: boolean | undefined;
  owner?: string | undefined;
  target?: string | undefined;
  status?: SessionStatus | undefined;
}

export async function listSessions(
  deps: QueryDeps,
  identity: Identity,
  input: ListSessionsInput,
): Promise<Page<Session>> {
  const page = { limit: input.limit, ...(input.cursor ? { cursor: input.cursor } : {}) };
  const wantsOthers =
    input.all === true || (input.owner !== undefined && input.owner !== identity.subject);
  if (wantsOthers && !isAdmin(deps.policy, identity)) {
    throw new ForbiddenError("only members of the admin group may list other people's sessions");
  }
  if (!wantsOthers && input.target === undefined && input.status === undefined) {
    return deps.store.listByOwner(identity.subject, page);
  }
  return deps.store.listAll({
    ...page,
    owner: wantsOthers ? input.owner : identity.subject,
    ...(input.target ? { target: input.target } : {}),
    ...(input.status ? { status: input.status } : {}),
  });
}
