import {
  ConflictError,
  DrawbridgeError,
  ForbiddenError,
  GrantError,
  StaleSessionError,
} from '../domain/errors.ts';
import { cidrContains, parseCidr } from '../domain/network.ts';
import { findTarget } from '../domain/policy.ts';
import { type Identity, type Session, SessionStatus } from '../domain/session.ts';
import { shellQuote } from '../domain/shell-quote.ts';
import {
  documentNamesFor,
  type SsmCommands,
  type SsmConnect,
  ssmCommands,
  ssmTargetRef,
  suggestedLocalPort,
} from '../domain/ssm-session-policy.ts';
import type { CredentialGrant, IssuedCredentials } from '../ports/credential-grant.ts';
import type { AppDeps } from './deps.ts';
import { applyEvent } from './record.ts';
import { loadVisibleSession } from './sessions-query.ts';

export type IssueCredentialsDeps = Pick<
  AppDeps,
  'policy' | 'store' | 'auditLog' | 'clock' | 'logger'
> & { grant: CredentialGrant };

export interface IssueCredentialsInput {
  identity: Identity;
  /** requestContext.http.sourceIp — never a forwarded header */
  sourceIp: string;
  sessionId: string;
}

export interface CredentialsResponse {
  sessionId: string;
  /** the end of the window: StartSession is refused after it, whatever the credentials say */
  expiresAt: string;
  credentials: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    /** when the credentials lapse; ask again for more before the window ends */
    expiration: string;
  };
  sourceIdentity: string;
  connect: SsmConnect;
  /** the same commands as one line each, for people */
  commands: Partial<Record<'shell' | 'ssh' | 'portForward', string>>;
}

const MAX_RACE_RETRIES = 3;

/**
 * POST /sessions/{id}/credentials: the owner of a READY ssm session, from the address that
 * requested it, gets temporary credentials that can start Session Manager sessions on that one
 * instance with the allowed documents until expiresAt. Issued on demand because the session
 * is only READY long after POST /sessions answered; every issue is audited (never the secret).
 */
export async function issueCredentials(
  deps: IssueCredentialsDeps,
  input: IssueCredentialsInput,
): Promise<CredentialsResponse> {
  const session = await loadVisibleSession(deps, input.identity, input.sessionId);
  // Admins may see any session, but the credentials carry the owner's name into CloudTrail.
  if (session.owner !== input.identity.subject) {
    throw new ForbiddenError('credentials are issued only to the person who requested the session');
  }
  const { expiresAt, target, instanceId } = checkGrantable(deps, session, input.sourceIp);
  const documents = documentNamesFor(target, deps.grant.shellDocument);
  let issued: IssuedCredentials;
  try {
    issued = await deps.grant.issue({
      session,
      instanceId,
      documents: Object.values(documents),
      notAfter: expiresAt,
      now: deps.clock.now(),
    });
  } catch (error) {
    if (error instanceof GrantError && error.permanent) await endUnusable(deps, session, error);
    throw error;
  }
  await recordIssue(deps, session, issued, Object.values(documents), input.sourceIp, instanceId);

  const connect: SsmConnect = {
    instanceId,
    region: deps.grant.region,
    documents,
    target: { host: target.host, port: target.port },
    viaBastion: ssmTargetRef(target).kind === 'fresh',
    localPort: suggestedLocalPort(target.port),
  };
  return {
    sessionId: session.id,
    expiresAt: new Date(expiresAt).toISOString(),
    credentials: {
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      sessionToken: issued.sessionToken,
      expiration: new Date(issued.expiration).toISOString(),
    },
    sourceIdentity: issued.sourceIdentity,
    connect,
    commands: commandLines(ssmCommands(connect), instanceId),
  };
}

function checkGrantable(
  deps: Pick<AppDeps, 'policy' | 'clock'>,
  session: Session,
  sourceIp: string,
) {
  if (session.mode !== 'ssm') {
    throw new ConflictError(
      `session ${session.id} is a ${session.mode} session: it connects with ssh, not Session Manager credentials`,
    );
  }
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
  const target = findTarget(deps.policy, session.target);
  if (target?.mode !== 'ssm') {
    throw new ConflictError(`target '${session.target}' is no longer an ssm target in the policy`);
  }
  const instanceId = session.resources.targetInstanceId ?? session.resources.instanceId;
  if (!instanceId) throw new DrawbridgeError(`READY ssm session ${session.id} records no instance`);
  return { expiresAt, target, instanceId };
}

/**
 * The credentials go to the owner only once the issue is on record. The event changes nothing
 * but the version, so a concurrent change (an extension, the expiry) is retried on the fresh
 * session; if it is no longer READY the credentials are dropped unseen.
 */
async function recordIssue(
  deps: IssueCredentialsDeps,
  session: Session,
  issued: IssuedCredentials,
  documents: readonly string[],
  sourceIp: string,
  instanceId: string,
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
            instanceId,
            documents: documents.join(','),
            sourceIp,
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
async function endUnusable(
  deps: IssueCredentialsDeps,
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

function commandLines(commands: SsmCommands, instanceId: string): CredentialsResponse['commands'] {
  const line = (argv: string[]) => argv.map(shellQuote).join(' ');
  return {
    ...(commands.shell ? { shell: line(commands.shell) } : {}),
    ...(commands.sshProxyCommand
      ? {
          // The whole option is one word for the shell: the proxy line inside may hold quotes.
          ssh: `ssh -o ${shellQuote(`ProxyCommand=${line(commands.sshProxyCommand)}`)} ${shellQuote(instanceId)}`,
        }
      : {}),
    ...(commands.portForward ? { portForward: line(commands.portForward) } : {}),
  };
}
