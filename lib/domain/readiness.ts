import type { Session } from './session.ts';

/**
 * The bastion's readiness proof: one log line, written once sshd has reloaded with the
 * session's configuration, carrying the session id and the fingerprint of the host key sshd
 * actually serves (read back from sshd itself, not from the key file). Drawbridge marks the
 * session READY only on a proof from the session's own stream whose fingerprint is the host
 * key it issued.
 */
export const READINESS_MARKER = 'drawbridge-ready';

export interface ReadinessProof {
  sessionId: string;
  fingerprint: string;
}

export const readinessLine = (proof: ReadinessProof): string =>
  `${READINESS_MARKER} session=${proof.sessionId} hostkey=${proof.fingerprint}`;

// A syslog line carries a prefix (time, host, tag) before the message, so the proof is found
// anywhere after a word boundary; it must end the line, so nothing can be appended to a real one.
const PROOF =
  /(?:^|[\s:])drawbridge-ready session=(s-[0-9a-hjkmnp-tv-z]{20}) hostkey=(SHA256:[A-Za-z0-9+/]{43})$/;
/** A CloudWatch event message may be up to 256 KB; a proof is short, so anything long is not one. */
const MAX_LINE = 1024;

/** The proof in one log line, or undefined when the line is not exactly one well-formed proof. */
export function parseReadinessLine(line: string): ReadinessProof | undefined {
  if (typeof line !== 'string' || line.length > MAX_LINE) return undefined;
  const match = PROOF.exec(line.trimEnd());
  if (!match?.[1] || !match[2]) return undefined;
  return { sessionId: match[1], fingerprint: match[2] };
}

/**
 * Why a session was not READY by its provisioning deadline, from what it recorded: nothing
 * launched, an instance that never ran, or a bastion that ran but never proved readiness.
 */
export function notReadyReason(session: Session): string {
  // ssm: readiness is the Session Manager agent coming online, which no log line proves.
  if (session.mode === 'ssm') return 'the bastion was not ready before the provisioning deadline';
  const launched =
    session.launchSentAt !== undefined ||
    session.resources.instanceId !== undefined ||
    session.resources.pid !== undefined;
  if (!launched) return 'the bastion was never launched before the provisioning deadline';
  if (session.bastionRunningAt === undefined)
    return 'the instance never reached running before the provisioning deadline';
  return 'the bastion never sent its readiness proof (sshd serving the session, logged to its stream) before the provisioning deadline';
}
