import {
  type EiceConnect,
  eiceCommands,
  eiceInstanceRef,
  keyPushUser,
  tunnelBounds,
} from '../domain/eice-session-policy.ts';
import { ConflictError, DrawbridgeError, ForbiddenError, GrantError } from '../domain/errors.ts';
import { findTarget, type Target } from '../domain/policy.ts';
import type { Identity, Session } from '../domain/session.ts';
import { suggestedLocalPort } from '../domain/session-policy.ts';
import { shellQuote } from '../domain/shell-quote.ts';
import {
  documentNamesFor,
  type SsmConnect,
  ssmCommands,
  ssmTargetRef,
} from '../domain/ssm-session-policy.ts';
import type {
  CredentialGrant,
  EiceCredentialGrant,
  IssuedCredentials,
} from '../ports/credential-grant.ts';
import type { AppDeps } from './deps.ts';
import { checkWindow, endUnusable, recordIssue } from './grant-record.ts';
import { loadVisibleSession } from './sessions-query.ts';

export type IssueCredentialsDeps = Pick<
  AppDeps,
  'policy' | 'store' | 'auditLog' | 'clock' | 'logger'
> & {
  grant: CredentialGrant;
  /** eice sessions' grants; absent where the mode is off */
  eiceGrant?: EiceCredentialGrant | undefined;
};

export interface IssueCredentialsInput {
  identity: Identity;
  /** requestContext.http.sourceIp — never a forwarded header */
  sourceIp: string;
  sessionId: string;
}

/** The answer, whatever the mode: the credentials, and how to connect with them. */
interface GrantAnswer<Connect, Commands> {
  sessionId: string;
  /** the end of the window: nothing opened with these credentials starts after it (ssm) or outlives it (eice) */
  expiresAt: string;
  credentials: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    /** when the credentials lapse; ask again for more before the window ends */
    expiration: string;
  };
  sourceIdentity: string;
  connect: Connect;
  /** the same commands as one line each, for people */
  commands: Commands;
}

export type SsmCredentialsResponse = GrantAnswer<
  SsmConnect,
  Partial<Record<'shell' | 'ssh' | 'portForward', string>>
>;
export type EiceCredentialsResponse = GrantAnswer<
  EiceConnect,
  { ssh?: string; portForward: string; sendSshPublicKey?: string }
>;
export type CredentialsResponse = SsmCredentialsResponse | EiceCredentialsResponse;

/** One mode's grant for a READY session of one of its targets, before it is issued. */
interface GrantPlan<Connect, Commands> {
  issue(): Promise<IssuedCredentials>;
  /** what the grant allows, for the audit trail (never the credentials) */
  audit: Record<string, string | number>;
  connect: Connect;
  commands: Commands;
}

/**
 * POST /sessions/{id}/credentials: the owner of a READY ssm or eice session, from the address
 * that requested it, gets temporary credentials scoped to that one target until expiresAt:
 * Session Manager sessions on one instance with the allowed documents (ssm), or EC2 Instance
 * Connect Endpoint tunnels to one address and port and the key push for the target's OS user
 * (eice). Issued on demand because the session is only READY long after POST /sessions
 * answered; every issue is audited (never the secret), and the credentials appear only in the
 * answer.
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
  if (session.mode === 'eice') {
    const grant = deps.eiceGrant;
    if (!grant) throw new DrawbridgeError('no eice grant is configured for this function');
    return issueWith(deps, session, input.sourceIp, 'eice', (target, expiresAt) =>
      planEiceGrant(grant, deps.clock.now(), session, target, expiresAt),
    );
  }
  if (session.mode !== 'ssm') {
    throw new ConflictError(
      `session ${session.id} is a ${session.mode} session: it connects with ssh, not Session Manager credentials`,
    );
  }
  return issueWith(deps, session, input.sourceIp, 'ssm', (target, expiresAt) =>
    planSsmGrant(deps, session, target, expiresAt),
  );
}

/** What every mode shares: the window and the target checked, the issue audited, the answer. */
async function issueWith<Connect, Commands>(
  deps: IssueCredentialsDeps,
  session: Session,
  sourceIp: string,
  mode: 'ssm' | 'eice',
  plan: (target: Target, expiresAt: number) => GrantPlan<Connect, Commands>,
): Promise<GrantAnswer<Connect, Commands>> {
  const expiresAt = checkWindow(deps, session, sourceIp);
  const target = findTarget(deps.policy, session.target);
  if (target?.mode !== mode) {
    throw new ConflictError(
      `target '${session.target}' is no longer an ${mode} target in the policy`,
    );
  }
  const grant = plan(target, expiresAt);
  let issued: IssuedCredentials;
  try {
    issued = await grant.issue();
  } catch (error) {
    if (error instanceof GrantError && error.permanent) await endUnusable(deps, session, error);
    throw error;
  }
  await recordIssue(deps, session, issued, { ...grant.audit, sourceIp });
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
    connect: grant.connect,
    commands: grant.commands,
  };
}

const commandLine = (argv: readonly string[]): string => argv.map(shellQuote).join(' ');

/** Session Manager sessions on the recorded instance, with the documents the target allows. */
function planSsmGrant(
  deps: Pick<IssueCredentialsDeps, 'grant' | 'clock'>,
  session: Session,
  target: Target,
  expiresAt: number,
): GrantPlan<SsmConnect, SsmCredentialsResponse['commands']> {
  const instanceId = session.resources.targetInstanceId ?? session.resources.instanceId;
  if (!instanceId) throw new DrawbridgeError(`READY ssm session ${session.id} records no instance`);
  const documents = documentNamesFor(target, deps.grant.shellDocument);
  const connect: SsmConnect = {
    instanceId,
    region: deps.grant.region,
    documents,
    target: { host: target.host, port: target.port },
    viaBastion: ssmTargetRef(target).kind === 'fresh',
    localPort: suggestedLocalPort(target.port),
  };
  const commands = ssmCommands(connect);
  return {
    issue: () =>
      deps.grant.issue({
        session,
        instanceId,
        documents: Object.values(documents),
        notAfter: expiresAt,
        now: deps.clock.now(),
      }),
    audit: { instanceId, documents: Object.values(documents).join(',') },
    connect,
    commands: {
      ...(commands.shell ? { shell: commandLine(commands.shell) } : {}),
      ...(commands.sshProxyCommand
        ? {
            // The whole option is one word for the shell: the proxy line inside may hold quotes.
            ssh: `ssh -o ${shellQuote(`ProxyCommand=${commandLine(commands.sshProxyCommand)}`)} ${shellQuote(instanceId)}`,
          }
        : {}),
      ...(commands.portForward ? { portForward: commandLine(commands.portForward) } : {}),
    },
  };
}

/**
 * EC2 Instance Connect Endpoint tunnels to the recorded instance's address and port until
 * `openUntil`, each no longer than what is then left of the window, and the session's key
 * pushed for the target's OS user.
 */
function planEiceGrant(
  grant: EiceCredentialGrant,
  now: number,
  session: Session,
  target: Target,
  expiresAt: number,
): GrantPlan<EiceConnect, EiceCredentialsResponse['commands']> {
  eiceInstanceRef(target);
  const { targetInstanceId, eiceEndpointId, eiceEndpointDns, privateIpAddress } = session.resources;
  if (!targetInstanceId || !eiceEndpointId || !eiceEndpointDns || !privateIpAddress) {
    throw new DrawbridgeError(`READY eice session ${session.id} records no instance or endpoint`);
  }
  const bounds = tunnelBounds(now, expiresAt);
  if (!bounds) {
    throw new ConflictError(
      `the window of session ${session.id} is too close to its end for a tunnel`,
    );
  }
  const osUser = keyPushUser(target);
  const connect: EiceConnect = {
    region: grant.region,
    instanceId: targetInstanceId,
    endpointId: eiceEndpointId,
    endpointDns: eiceEndpointDns,
    privateIpAddress,
    remotePort: target.port,
    ...(target.eice?.osUser ? { osUser: target.eice.osUser } : {}),
    sendSshPublicKey: osUser !== undefined,
    maxTunnelSeconds: bounds.maxTunnelSeconds,
    openUntil: new Date(bounds.openUntil).toISOString(),
    localPort: suggestedLocalPort(target.port),
  };
  const commands = eiceCommands(connect, 'file://<your session key>.pub');
  return {
    issue: () =>
      grant.issue({
        session,
        endpointId: eiceEndpointId,
        instanceId: targetInstanceId,
        privateIpAddress,
        remotePort: target.port,
        osUser,
        notAfter: expiresAt,
        bounds,
        now,
      }),
    audit: {
      instanceId: targetInstanceId,
      endpointId: eiceEndpointId,
      privateIpAddress,
      remotePort: target.port,
      maxTunnelSeconds: bounds.maxTunnelSeconds,
      tunnelsOpenUntil: new Date(bounds.openUntil).toISOString(),
      ...(osUser ? { osUser } : {}),
    },
    connect,
    commands: {
      ...(connect.osUser
        ? {
            ssh: `ssh -o ProxyCommand="${commandLine(commands.tunnel)}" ${connect.osUser}@${connect.instanceId}`,
          }
        : {}),
      portForward: commandLine(commands.portForward),
      ...(commands.sendSshPublicKey
        ? { sendSshPublicKey: commandLine(commands.sendSshPublicKey) }
        : {}),
    },
  };
}
