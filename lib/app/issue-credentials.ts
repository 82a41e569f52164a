import { ConflictError, DrawbridgeError, ForbiddenError, GrantError } from '../domain/errors.ts';
import { findTarget } from '../domain/policy.ts';
import type { Identity, Session } from '../domain/session.ts';
import { shellQuote } from '../domain/shell-quote.ts';
import {
  documentNamesFor,
  type SsmCommands,
  type SsmConnect,
  ssmCommands,
  ssmTargetRef,
  suggestedLocalPort,
} from '../domain/ssm-session-policy.ts';
import type {
  CredentialGrant,
  EiceCredentialGrant,
  IssuedCredentials,
} from '../ports/credential-grant.ts';
import type { AppDeps } from './deps.ts';
import { checkWindow, endUnusable, recordIssue } from './grant-record.ts';
import { type EiceCredentialsResponse, issueEiceCredentials } from './issue-eice-credentials.ts';
import { loadVisibleSession } from './sessions-query.ts';

export type IssueCredentialsDeps = Pick<
  AppDeps,
  'policy' | 'store' | 'auditLog' | 'clock' | 'logger'
> & {
  grant: CredentialGrant;
  /** eice sessions' grants (lib/app/issue-eice-credentials.ts); absent where the mode is off */
  eiceGrant?: EiceCredentialGrant;
};

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
  return issueSsmCredentials(deps, await loadOwnSession(deps, input), input.sourceIp);
}

async function issueSsmCredentials(
  deps: IssueCredentialsDeps,
  session: Session,
  sourceIp: string,
): Promise<CredentialsResponse> {
  const { expiresAt, target, instanceId } = checkGrantable(deps, session, sourceIp);
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
  await recordIssue(deps, session, issued, {
    instanceId,
    documents: Object.values(documents).join(','),
    sourceIp,
  });

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
  const expiresAt = checkWindow(deps, session, sourceIp);
  const target = findTarget(deps.policy, session.target);
  if (target?.mode !== 'ssm') {
    throw new ConflictError(`target '${session.target}' is no longer an ssm target in the policy`);
  }
  const instanceId = session.resources.targetInstanceId ?? session.resources.instanceId;
  if (!instanceId) throw new DrawbridgeError(`READY ssm session ${session.id} records no instance`);
  return { expiresAt, target, instanceId };
}

/**
 * The route's use case: the session's mode picks the grant (Session Manager for ssm, EC2
 * Instance Connect Endpoint tunnels for eice).
 */
export async function issueSessionCredentials(
  deps: IssueCredentialsDeps,
  input: IssueCredentialsInput,
): Promise<CredentialsResponse | EiceCredentialsResponse> {
  const session = await loadOwnSession(deps, input);
  if (session.mode === 'eice') return issueEiceCredentials(deps, session, input.sourceIp);
  return issueSsmCredentials(deps, session, input.sourceIp);
}

async function loadOwnSession(
  deps: IssueCredentialsDeps,
  input: IssueCredentialsInput,
): Promise<Session> {
  const session = await loadVisibleSession(deps, input.identity, input.sessionId);
  // Admins may see any session, but the credentials carry the owner's name into CloudTrail.
  if (session.owner !== input.identity.subject) {
    throw new ForbiddenError('credentials are issued only to the person who requested the session');
  }
  return session;
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
