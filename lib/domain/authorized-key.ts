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
  /** recording full: a terminal under the recorder and nothing else (no forward at all) */
  recorded?: boolean;
}

/** Where the ec2 bastion's image installs the recorder (bastion/drawbridge-record). */
export const RECORDER_PATH = '/usr/local/bin/drawbridge-record';
/**
 * What a recorded session runs on the ec2 bastion: the recorder, started by the session user
 * through sudo (a rule for that user, that command and no arguments: cloud-config.ts), so it runs
 * as root and keeps the recording in root's files, out of reach of the shell it records.
 * `-n`: never a password prompt; without the rule the connection closes.
 */
export const RECORDER_COMMAND = `/usr/bin/sudo -n ${RECORDER_PATH}`;

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
  // A recorded key forces the recorder even if sshd's ForceCommand were lost, and grants a
  // terminal only: `restrict` alone already refuses every forward, agent and X11.
  const options = input.recorded
    ? [
        'restrict',
        'pty',
        `command="${RECORDER_COMMAND}"`,
        `from="${input.sourceCidr}"`,
        `expiry-time="${sshExpiryTime(input.expiresAt)}"`,
      ]
    : [
        'restrict',
        'port-forwarding',
        ...(input.access === 'shell' ? ['pty'] : []),
        `permitopen="${host}:${input.targetPort}"`,
        `from="${input.sourceCidr}"`,
        `expiry-time="${sshExpiryTime(input.expiresAt)}"`,
      ];
  return `${options.join(',')} ${input.publicKey} drawbridge-${input.sessionId}`;
}
