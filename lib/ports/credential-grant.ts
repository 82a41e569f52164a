import type { TunnelBounds } from '../domain/eice-session-policy.ts';
import type { Session } from '../domain/session.ts';

export interface GrantRequest {
  session: Session;
  /** the managed instance the grant lets the owner start sessions on */
  instanceId: string;
  /** names of the Session Manager documents allowed */
  documents: readonly string[];
  /** StartSession stops working at this moment (epoch ms): the session's expiresAt */
  notAfter: number;
  now: number;
}

/** Temporary AWS credentials. Handed to the owner once; never stored, logged or audited. */
export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** when STS lets them lapse (epoch ms); may be after notAfter (STS's 15-minute minimum) */
  expiration: number;
  /** what CloudTrail names the person by (lib/domain/session-policy.ts) */
  sourceIdentity: string;
  durationSeconds: number;
}

/**
 * Issues scoped temporary credentials for an ssm session. Throws GrantError (permanent or
 * not); nothing above it sees an SDK type.
 */
export interface CredentialGrant {
  /** the region the credentials and the printed commands are for */
  readonly region: string;
  /** the stage's own Session document that `shell` maps to */
  readonly shellDocument: string;
  issue(request: GrantRequest): Promise<IssuedCredentials>;
}

export interface EiceGrantRequest {
  session: Session;
  endpointId: string;
  instanceId: string;
  privateIpAddress: string;
  remotePort: number;
  /** set when the grant may push a key for this OS user (SendSSHPublicKey) */
  osUser?: string | undefined;
  /** the session's expiresAt (epoch ms) */
  notAfter: number;
  bounds: TunnelBounds;
  now: number;
}

/**
 * Issues scoped temporary credentials for an eice session (lib/domain/eice-session-policy.ts).
 * Throws GrantError (permanent or not); nothing above it sees an SDK type.
 */
export interface EiceCredentialGrant {
  readonly region: string;
  issue(request: EiceGrantRequest): Promise<IssuedCredentials>;
}
