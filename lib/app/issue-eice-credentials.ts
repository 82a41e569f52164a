import {
  type EiceCommands,
  type EiceConnect,
  eiceCommands,
  eiceInstanceRef,
  keyPushUser,
  tunnelBounds,
} from '../domain/eice-session-policy.ts';
import { ConflictError, DrawbridgeError, GrantError } from '../domain/errors.ts';
import { findTarget } from '../domain/policy.ts';
import type { Session } from '../domain/session.ts';
import { suggestedLocalPort } from '../domain/ssm-session-policy.ts';
import type { EiceCredentialGrant, IssuedCredentials } from '../ports/credential-grant.ts';
import type { AppDeps } from './deps.ts';
import { checkWindow, endUnusable, recordIssue } from './grant-record.ts';

export type IssueEiceCredentialsDeps = Pick<
  AppDeps,
  'policy' | 'store' | 'auditLog' | 'clock' | 'logger'
> & { eiceGrant?: EiceCredentialGrant | undefined };

export interface EiceCredentialsResponse {
  sessionId: string;
  /** the end of the window: no tunnel opened with these credentials outlives it */
  expiresAt: string;
  credentials: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: string;
  };
  sourceIdentity: string;
  connect: EiceConnect;
  /** the same commands as one line each, for people */
  commands: { ssh?: string; portForward: string; sendSshPublicKey?: string };
}

/**
 * POST /sessions/{id}/credentials for an eice session: credentials that open EC2 Instance
 * Connect Endpoint tunnels to the recorded instance's address and port until `openUntil`, each
 * no longer than what is then left of the window, and push the session's key for the target's
 * OS user. Audited like the ssm grant; the credentials appear only in the answer.
 */
export async function issueEiceCredentials(
  deps: IssueEiceCredentialsDeps,
  session: Session,
  sourceIp: string,
): Promise<EiceCredentialsResponse> {
  const grant = deps.eiceGrant;
  if (!grant) throw new DrawbridgeError('no eice grant is configured for this function');
  const expiresAt = checkWindow(deps, session, sourceIp);
  const target = findTarget(deps.policy, session.target);
  if (target?.mode !== 'eice') {
    throw new ConflictError(`target '${session.target}' is no longer an eice target in the policy`);
  }
  eiceInstanceRef(target);
  const { targetInstanceId, eiceEndpointId, eiceEndpointDns, privateIpAddress } = session.resources;
  if (!targetInstanceId || !eiceEndpointId || !eiceEndpointDns || !privateIpAddress) {
    throw new DrawbridgeError(`READY eice session ${session.id} records no instance or endpoint`);
  }
  const now = deps.clock.now();
  const bounds = tunnelBounds(now, expiresAt);
  if (!bounds) {
    throw new ConflictError(
      `the window of session ${session.id} is too close to its end for a tunnel`,
    );
  }
  const osUser = keyPushUser(target);
  let issued: IssuedCredentials;
  try {
    issued = await grant.issue({
      session,
      endpointId: eiceEndpointId,
      instanceId: targetInstanceId,
      privateIpAddress,
      remotePort: target.port,
      osUser,
      notAfter: expiresAt,
      bounds,
      now,
    });
  } catch (error) {
    if (error instanceof GrantError && error.permanent) await endUnusable(deps, session, error);
    throw error;
  }
  await recordIssue(deps, session, issued, {
    instanceId: targetInstanceId,
    endpointId: eiceEndpointId,
    privateIpAddress,
    remotePort: target.port,
    maxTunnelSeconds: bounds.maxTunnelSeconds,
    tunnelsOpenUntil: new Date(bounds.openUntil).toISOString(),
    ...(osUser ? { osUser } : {}),
    sourceIp,
  });

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
    commands: commandLines(eiceCommands(connect, 'file://<your session key>.pub'), connect),
  };
}

const quote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg}'`);

function commandLines(
  commands: EiceCommands,
  connect: EiceConnect,
): EiceCredentialsResponse['commands'] {
  const line = (argv: readonly string[]) => argv.map(quote).join(' ');
  return {
    ...(connect.osUser
      ? {
          ssh: `ssh -o ProxyCommand="${line(commands.tunnel)}" ${connect.osUser}@${connect.instanceId}`,
        }
      : {}),
    portForward: line(commands.portForward),
    ...(commands.sendSshPublicKey ? { sendSshPublicKey: line(commands.sendSshPublicKey) } : {}),
  };
}
