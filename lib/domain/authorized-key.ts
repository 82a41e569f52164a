import { sshExpiryTime } from './durations.ts';
import type { Access } from './policy.ts';

export interface AuthorizedKeyInput {
  /** the normalized `type base64` from parsePublicKey */
  publicKey: string;
  targetHost: string;
  targetPort: number;
  sourceCidr: string;
  expiresAt: number;
  access: Access;
  sessionId: string;
}

/**
 * The single authorized_keys line for the session's user. The server writes every option:
 * jump-only keys get `restrict` plus exactly one forward; shell access adds a pty. Every value
 * here was validated before (policy schema, parsePublicKey, hostCidr), and none may contain a
 * quote, comma or space, which this function re-checks because it is the last line of defence.
 */
export function authorizedKeyLine(input: AuthorizedKeyInput): string {
  const values = [input.targetHost, String(input.targetPort), input.sourceCidr, input.sessionId];
  for (const value of values) {
    if (!/^[A-Za-z0-9.:/_-]+$/.test(value)) throw new Error('unsafe value for authorized_keys');
  }
  if (!/^[a-z0-9-]+ [A-Za-z0-9+/]+={0,2}$/.test(input.publicKey)) {
    throw new Error('public key must be normalized before it reaches authorized_keys');
  }
  const host = input.targetHost.includes(':') ? `[${input.targetHost}]` : input.targetHost;
  const options = [
    'restrict',
    'port-forwarding',
    ...(input.access === 'shell' ? ['pty'] : []),
    `permitopen="${host}:${input.targetPort}"`,
    `from="${input.sourceCidr}"`,
    `expiry-time="${sshExpiryTime(input.expiresAt)}"`,
  ];
  return `${options.join(',')} ${input.publicKey} drawbridge-${input.sessionId}`;
}
