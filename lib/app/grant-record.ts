import {
  ConflictError,
  ForbiddenError,
  type GrantError,
  StaleSessionError,
} from '../domain/errors.ts';
import { cidrContains, parseCidr } from '../domain/network.ts';
import { type Session, SessionStatus } from '../domain/session.ts';
import type { IssuedCredentials } from '../ports/credential-grant.ts';
import type { AppDeps } from './deps.ts';
import { applyEvent } from './record.ts';

/**
 * What every credential grant (ssm, eice) shares: the session must be READY, inside its
 * window and asked for from its own address; the issue is audited before the credentials are
 * handed over (never the credentials themselves); a permanent refusal ends the session.
 */

export type GrantRecordDeps = Pick<AppDeps, 'store' | 'auditLog' | 'clock' | 'logger'>;

const MAX_RACE_RETRIES = 3;

/** READY, inside its window, asked from the address that requested it. */
export function checkWindow(
  deps: Pick<AppDeps, 'clock'>,
  session: Session,
  sourceIp: string,
): number {
  if (session.status !== SessionStatus.READY) {
    throw new ConflictError(
      `session ${session.id} is ${session.status}: credentials are issued while it is READY`,
    );
  }
  const expiresAt = session.expiresAt;
  if (expiresAt === undefined || deps.clock.now() >= expiresAt) {
    throw new ConflictError(`the window of session ${session.id} has ended`);
  }
  // The session policy pins aws:SourceIp to the requesting address: credentials fetched from
  // elsewhere could not be used there, so say it now rather than hand over dead credentials.
  if (!cidrContains(parseCidr(session.sourceCidr), sourceIp)) {
    throw new ForbiddenError(
      `credentials for session ${session.id} work only from ${session.sourceIp}, the address that requested it; request a new session from ${sourceIp}`,
    );
  }
  return expiresAt;
}

/**
 * The credentials go to the owner only once the issue is on record. The event changes nothing
 * but the version, so a concurrent change (an extension, the expiry) is retried on the fresh
 * session; if it is no longer READY the credentials are dropped unseen.
 */
export async function recordIssue(
  deps: GrantRecordDeps,
  session: Session,
  issued: IssuedCredentials,
  /** what the grant allows, for the audit trail (never the credentials) */
  scope: Record<string, string | number>,
): Promise<void> {
  let current = session;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await applyEvent(
        deps,
        current,
        { type: 'grant' },
        {
          type: 'credentials-issued',
          actor: current.owner,
          detail: {
            ...scope,
            sourceIdentity: issued.sourceIdentity,
            durationSeconds: issued.durationSeconds,
            credentialsExpireAt: new Date(issued.expiration).toISOString(),
          },
        },
      );
      return;
    } catch (error) {
      if (!(error instanceof StaleSessionError) || attempt >= MAX_RACE_RETRIES) throw error;
      const fresh = await deps.store.get(current.id);
      if (!fresh || fresh.status !== SessionStatus.READY) {
        throw new ConflictError(`session ${current.id} ended while its credentials were issued`);
      }
      current = fresh;
    }
  }
}

/**
 * STS will never issue this session's credentials (the role's trust or policy refuses): the
 * session cannot be used, so it ends now and the reaper (which takes ENDING sessions at once)
 * releases it and gives the quota back. A transient refusal leaves it READY for a retry.
 */
export async function endUnusable(
  deps: GrantRecordDeps,
  session: Session,
  error: GrantError,
): Promise<void> {
  try {
    await applyEvent(
      deps,
      session,
      { type: 'end', reason: 'failed', detail: error.message },
      { actor: 'drawbridge', detail: { reason: 'failed', grant: error.message } },
    );
  } catch (endError) {
    deps.logger.error('could not end a session whose credentials STS refused', {
      sessionId: session.id,
      error: endError,
    });
  }
}
