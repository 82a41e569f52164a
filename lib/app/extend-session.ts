import { authorizedKeyLine } from '../domain/authorized-key.ts';
import { isBreakGlassMember } from '../domain/break-glass.ts';
import { ConflictError, ForbiddenError, IllegalTransitionError } from '../domain/errors.ts';
import { maxTotalMinutesFor } from '../domain/extension.ts';
import { requireFreshMfa } from '../domain/mfa.ts';
import { findTarget } from '../domain/policy.ts';
import { type Identity, type Session, SessionStatus } from '../domain/session.ts';
import { type AppDeps, providerFor } from './deps.ts';
import { applyEvent } from './record.ts';
import { loadVisibleSession } from './sessions-query.ts';

type ExtendDeps = Pick<
  AppDeps,
  'policy' | 'store' | 'providers' | 'scheduler' | 'auditLog' | 'clock' | 'logger'
>;

export interface ExtendRequest {
  byMinutes: number;
  reason: string;
}

export interface ExtendResult {
  session: Session;
  /** things the person should know that did not stop the extension */
  notices: string[];
}

/**
 * POST /sessions/{id}/extend: the owner asks for more time. Policy is checked again as it is
 * now (the owner's groups, break-glass membership, fresh MFA, the maximum total), then every
 * expiry layer moves together:
 * - layer 1: within the key's bound written at launch (ec2), or the key is rewritten with the
 *   new bound where the provider can (local) — lib/domain/extension.ts explains the bound;
 * - layer 2: the one-time schedule is moved (the scheduler updates it in place);
 * - layer 3: the reaper follows expiresAt through the byDue index, moved in the same write;
 * - layer 4: the self-destruct is the key's bound plus grace, so it moves exactly when layer
 *   1 does (a rewritten key) and otherwise already lies beyond the extended window.
 * The `drawbridge:expires-at` tag on an ec2 bastion carries the launch bound, which stays an
 * upper bound of any extension, so it is never rewritten (tags cannot be changed without
 * CreateTags on running instances, which no role here holds).
 */
export async function extendSession(
  deps: ExtendDeps,
  identity: Identity,
  id: string,
  request: ExtendRequest,
): Promise<ExtendResult> {
  const session = await loadVisibleSession(deps, identity, id);
  if (session.owner !== identity.subject) {
    throw new ForbiddenError('only the owner of a session can extend it');
  }
  if (session.status !== SessionStatus.READY) {
    throw new IllegalTransitionError(
      `only a READY session can be extended; this one is ${session.status}`,
    );
  }
  const target = findTarget(deps.policy, session.target);
  if (!target) throw new ConflictError(`target '${session.target}' is no longer in the policy`);
  const now = deps.clock.now();
  if (session.breakGlass) {
    if (!isBreakGlassMember(deps.policy, identity)) {
      throw new ForbiddenError('you are no longer in a break-glass group');
    }
    requireFreshMfa(identity, deps.policy.breakGlass?.requireMfa, now, 'break-glass');
    requireFreshMfa(identity, target.requireMfa, now, `target '${target.name}'`);
  } else {
    if (!target.allowedGroups.some((group) => identity.groups.includes(group))) {
      throw new ForbiddenError(`your groups may no longer open target '${target.name}'`);
    }
    // An extension is a new grant of time; a target that needs approval needs it again, and
    // a fresh request is that flow.
    if (target.approval) {
      throw new ConflictError('extensions of this target need approval: request a new session');
    }
    requireFreshMfa(identity, target.requireMfa, now, `target '${target.name}'`);
  }
  const maxTotalMinutes = maxTotalMinutesFor(deps.policy, session) ?? target.maxDurationMinutes;
  const provider = providerFor(deps.providers, session.mode);
  const canRewriteKey = typeof provider.extend === 'function';

  const extended = await applyEvent(
    deps,
    session,
    { type: 'extend', byMinutes: request.byMinutes, maxTotalMinutes, canRewriteKey },
    {
      type: 'extended',
      actor: identity.subject,
      detail: {
        byMinutes: request.byMinutes,
        reason: request.reason,
        expiresAt: new Date((session.expiresAt ?? now) + request.byMinutes * 60_000).toISOString(),
      },
    },
  );

  const notices: string[] = [];
  if (provider.extend && extended.credentialExpiresAt > session.credentialExpiresAt) {
    try {
      await provider.extend({
        session: extended,
        target,
        authorizedKey: authorizedKeyLine({
          publicKey: extended.publicKey,
          targetHost: target.host,
          targetPort: target.port,
          sourceCidr: extended.sourceCidr,
          expiresAt: extended.credentialExpiresAt,
          access: target.access,
          recorded: target.recording === 'full',
          sessionId: extended.id,
        }),
        selfDestructAt:
          extended.credentialExpiresAt + deps.policy.selfDestructGraceMinutes * 60_000,
      });
    } catch (error) {
      // Fails safe: the old key refuses new connections at the old bound; live ones carry on
      // until the new end, when layers 2 and 3 cut them.
      deps.logger.error('could not rewrite the key for an extension', { sessionId: id, error });
      notices.push(
        `the bastion's key could not be updated: new connections are refused after ${new Date(session.credentialExpiresAt).toISOString()}; connections already open last until ${new Date(extended.expiresAt ?? now).toISOString()}`,
      );
    }
  }
  try {
    await deps.scheduler.schedule(extended);
  } catch (error) {
    // The old schedule fires at the old end and finds the window moved (a no-op); the reaper
    // ends the session at the new end from the byDue index, which the write above moved.
    deps.logger.error('could not move the expiry schedule; the reaper will end the session', {
      sessionId: id,
      error,
    });
  }
  return { session: extended, notices };
}
