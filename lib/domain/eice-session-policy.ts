import { DrawbridgeError, QuotaExceededError } from './errors.ts';
import { hostCidr, ipVersion } from './network.ts';
import type { Target } from './policy.ts';
import {
  type ConditionedStatement,
  ec2InstanceArn,
  type GrantOrigin,
  type GrantScope,
  refuseGrant,
  type SessionPolicyDocument,
  sessionPolicy,
} from './session-policy.ts';

/**
 * What an eice grant allows, as plain data (the frame, SourceIdentity, tags and duration are
 * every grant's: session-policy.ts): the statements that let the owner open EC2 Instance
 * Connect Endpoint tunnels to one address and port through one endpoint, from their address,
 * for what is left of the window, and (SSH targets) push their key for one OS user on one
 * instance. lib/aws/eice-grant.ts only sends it.
 *
 * Condition keys, as the Service Authorization Reference for EC2 Instance Connect lists them
 * for OpenTunnel (resource type instance-connect-endpoint): ec2-instance-connect:remotePort,
 * ec2-instance-connect:privateIpAddress, ec2-instance-connect:maxTunnelDuration (listed there
 * as MaxTunnelDuration; IAM condition key names are case-insensitive, the EC2 user guide's
 * examples spell it maxTunnelDuration), and for SendSSHPublicKey (resource type instance):
 * ec2:osuser. aws:SourceIp and aws:CurrentTime are global keys.
 */

/** The endpoint closes any tunnel after an hour at most; the CLI refuses more. */
export const EICE_MAX_TUNNEL_SECONDS = 3600;
/**
 * How long a grant may open new tunnels. A tunnel opened at any moment before `openUntil` with
 * at most `maxTunnelSeconds` ends by the window's end: the cap is what is left after the
 * opening period, never what was left at issue. The CLI asks for a fresh grant to reconnect.
 */
export const EICE_OPENING_SECONDS = 300;
/** Below this, no tunnel is worth opening: the window is over for eice. */
export const EICE_MIN_TUNNEL_SECONDS = 1;

export const EICE_ACTIONS = {
  openTunnel: 'ec2-instance-connect:OpenTunnel',
  sendSshPublicKey: 'ec2-instance-connect:SendSSHPublicKey',
} as const;

export const EICE_CONDITION_KEYS = {
  remotePort: 'ec2-instance-connect:remotePort',
  privateIpAddress: 'ec2-instance-connect:privateIpAddress',
  maxTunnelDuration: 'ec2-instance-connect:maxTunnelDuration',
  osUser: 'ec2:osuser',
  sourceIp: 'aws:SourceIp',
  currentTime: 'aws:CurrentTime',
} as const;

/** The eice block of a target, as an instance reference. */
export type EiceInstanceRef =
  | { kind: 'instance'; instanceId: string }
  | { kind: 'tags'; tags: Readonly<Record<string, string>> };

export function eiceInstanceRef(target: Target): EiceInstanceRef {
  const eice = target.eice;
  if (target.mode !== 'eice' || !eice) {
    throw new DrawbridgeError(`target '${target.name}' is not an eice target`);
  }
  if (eice.instanceId) return { kind: 'instance', instanceId: eice.instanceId };
  if (eice.instanceTags) return { kind: 'tags', tags: eice.instanceTags };
  throw new DrawbridgeError(`target '${target.name}' names no instance`);
}

/** The OS user whose key the grant may push, when the target uses EC2 Instance Connect keys. */
export function keyPushUser(target: Target): string | undefined {
  return target.eice?.sendSshPublicKey !== false ? target.eice?.osUser : undefined;
}

/** The per-endpoint cap refused: a 429 that names the endpoint. */
export function endpointFull(endpointId: string, cap: number): QuotaExceededError {
  return new QuotaExceededError(
    `EC2 Instance Connect Endpoint ${endpointId} already carries ${cap} live session${cap === 1 ? '' : 's'}, the most this policy allows; retry when one ends`,
  );
}

const ENDPOINT_ID = /^eice-[0-9a-f]{8,17}$/;
const OS_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

function invalid(what: string): never {
  return refuseGrant(what, 'eice');
}

export function endpointArn(scope: GrantScope, endpointId: string): string {
  if (!ENDPOINT_ID.test(endpointId)) invalid('endpoint id');
  return `arn:${scope.partition}:ec2:${scope.region}:${scope.accountId}:instance-connect-endpoint/${endpointId}`;
}

/** When a grant issued at `now` stops opening tunnels, and the longest tunnel it allows. */
export interface TunnelBounds {
  /** epoch ms; never after notAfter */
  openUntil: number;
  /** whole seconds, ≥ 1 and ≤ 3600; openUntil + maxTunnelSeconds ≤ notAfter */
  maxTunnelSeconds: number;
}

/**
 * The opening period is EICE_OPENING_SECONDS, or half of what is left when less remains, so
 * a grant near the end still allows a tunnel of half the rest. Undefined when too little is
 * left for any tunnel (the caller refuses with 409).
 */
export function tunnelBounds(now: number, notAfter: number): TunnelBounds | undefined {
  if (!Number.isFinite(now) || !Number.isFinite(notAfter)) return undefined;
  const remainingMs = notAfter - now;
  const openingMs = Math.min(EICE_OPENING_SECONDS * 1000, Math.floor(remainingMs / 2));
  const openUntil = now + openingMs;
  const maxTunnelSeconds = Math.min(
    EICE_MAX_TUNNEL_SECONDS,
    Math.floor((notAfter - openUntil) / 1000),
  );
  if (openingMs <= 0 || maxTunnelSeconds < EICE_MIN_TUNNEL_SECONDS) return undefined;
  return { openUntil, maxTunnelSeconds };
}

export interface EiceSessionPolicyInput extends GrantOrigin {
  endpointId: string;
  /** the instance the key may be pushed to */
  instanceId: string;
  /** the instance's private address: the only one a tunnel may lead to */
  privateIpAddress: string;
  remotePort: number;
  /** SSH targets using EC2 Instance Connect keys: the one user a key may be pushed for */
  osUser?: string | undefined;
  /** the session's expiresAt (epoch ms) */
  notAfter: number;
  bounds: TunnelBounds;
}

export type EiceSessionPolicyDocument = SessionPolicyDocument<ConditionedStatement>;

/**
 * OpenTunnel on one endpoint, to one address and port, from the caller's address, with a
 * tunnel no longer than what is left of the window once the grant stops opening tunnels, and
 * only until then. A request without maxTunnelDuration has no value for the key, so the
 * NumericLessThanEquals test fails and IAM refuses it: every tunnel must state its bound.
 */
export function buildEiceSessionPolicy(input: EiceSessionPolicyInput): EiceSessionPolicyDocument {
  return sessionPolicy('eice', input, () => {
    if (ipVersion(input.privateIpAddress) === 0) invalid('private address');
    if (!Number.isInteger(input.remotePort) || input.remotePort < 1 || input.remotePort > 65535) {
      invalid('remote port');
    }
    const { openUntil, maxTunnelSeconds } = input.bounds;
    if (
      !Number.isFinite(input.notAfter) ||
      !Number.isInteger(maxTunnelSeconds) ||
      maxTunnelSeconds < EICE_MIN_TUNNEL_SECONDS ||
      maxTunnelSeconds > EICE_MAX_TUNNEL_SECONDS ||
      !(openUntil <= input.notAfter) ||
      openUntil + maxTunnelSeconds * 1000 > input.notAfter
    ) {
      invalid('tunnel bounds');
    }
    const statements: ConditionedStatement[] = [
      {
        Sid: 'OpenTunnelToTheTarget',
        Effect: 'Allow',
        Action: EICE_ACTIONS.openTunnel,
        Resource: endpointArn(input.scope, input.endpointId),
        Condition: {
          NumericEquals: { [EICE_CONDITION_KEYS.remotePort]: String(input.remotePort) },
          IpAddress: {
            [EICE_CONDITION_KEYS.privateIpAddress]: hostCidr(input.privateIpAddress),
            [EICE_CONDITION_KEYS.sourceIp]: input.sourceCidr,
          },
          NumericLessThanEquals: {
            [EICE_CONDITION_KEYS.maxTunnelDuration]: String(maxTunnelSeconds),
          },
          DateLessThan: { [EICE_CONDITION_KEYS.currentTime]: new Date(openUntil).toISOString() },
        },
      },
    ];
    if (input.osUser !== undefined) {
      if (!OS_USER.test(input.osUser)) invalid('OS user');
      statements.push({
        Sid: 'PushKeyForTheOsUser',
        Effect: 'Allow',
        Action: EICE_ACTIONS.sendSshPublicKey,
        Resource: ec2InstanceArn(input.scope, input.instanceId, 'eice'),
        Condition: {
          StringEquals: { [EICE_CONDITION_KEYS.osUser]: input.osUser },
          IpAddress: { [EICE_CONDITION_KEYS.sourceIp]: input.sourceCidr },
          DateLessThan: {
            [EICE_CONDITION_KEYS.currentTime]: new Date(input.notAfter).toISOString(),
          },
        },
      });
    } else {
      // Without the key statement the instance is still checked well-formed: it is in the answer.
      ec2InstanceArn(input.scope, input.instanceId, 'eice');
    }
    return statements;
  });
}

/** Everything a client needs to open tunnels with an eice grant. */
export interface EiceConnect {
  region: string;
  instanceId: string;
  endpointId: string;
  endpointDns: string;
  privateIpAddress: string;
  remotePort: number;
  /** present when ssh logs in as this user after the key is pushed */
  osUser?: string;
  /** true when the session's key must be pushed with SendSSHPublicKey before each connection */
  sendSshPublicKey: boolean;
  /** tunnels opened with this grant must be asked for at most this long */
  maxTunnelSeconds: number;
  /** new tunnels are refused from then on: ask for fresh credentials */
  openUntil: string;
  /** the local end suggested for a port forward */
  localPort: number;
}

export interface EiceCommands {
  /** the tunnel as ssh's ProxyCommand (stdin/stdout) */
  tunnel: string[];
  /** a local listener that forwards to the remote port */
  portForward: string[];
  /** pushes the key; {key} stands for the public key file (file://…) */
  sendSshPublicKey?: string[];
}

/**
 * The `aws ec2-instance-connect` argument vectors. Passing the endpoint's id and DNS name and
 * the private address means the AWS CLI makes no EC2 Describe call, which the grant does not
 * allow; --max-tunnel-duration is required by the grant's condition.
 */
export function eiceCommands(
  connect: EiceConnect,
  keyFile = '{key}',
  localPort = connect.localPort,
): EiceCommands {
  const tunnel = [
    'aws',
    'ec2-instance-connect',
    'open-tunnel',
    '--region',
    connect.region,
    '--instance-connect-endpoint-id',
    connect.endpointId,
    '--instance-connect-endpoint-dns-name',
    connect.endpointDns,
    '--private-ip-address',
    connect.privateIpAddress,
    '--remote-port',
    String(connect.remotePort),
    '--max-tunnel-duration',
    String(connect.maxTunnelSeconds),
  ];
  const commands: EiceCommands = {
    tunnel,
    portForward: [...tunnel, '--local-port', String(localPort)],
  };
  if (connect.sendSshPublicKey && connect.osUser) {
    commands.sendSshPublicKey = [
      'aws',
      'ec2-instance-connect',
      'send-ssh-public-key',
      '--region',
      connect.region,
      '--instance-id',
      connect.instanceId,
      '--instance-os-user',
      connect.osUser,
      '--ssh-public-key',
      keyFile,
    ];
  }
  return commands;
}
