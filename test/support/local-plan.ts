import { authorizedKeyLine } from '../../lib/domain/authorized-key.ts';
import { type Target, validatePolicy } from '../../lib/domain/policy.ts';
import type { LaunchPlan } from '../../lib/ports/provider.ts';
import { makeSession } from './sessions.ts';

export interface LocalPlanOptions {
  /** the target's name; `echo` unless given */
  name?: string;
  /** where the target forwards to */
  host: string;
  port: number;
  /** the client's public key: the session's key */
  publicKey: string;
  /** more of the target: access, recording, recordInput */
  target?: Record<string, unknown>;
  activeSessionsPerUser?: number;
  sourceCidr?: string;
  /** the key's bound (epoch ms); 30 minutes from now unless given */
  expiresAt?: number;
}

export interface LocalPlan extends LaunchPlan {
  /** the session's key line with another bound, as an extension writes it */
  keyUntil(expiresAt: number): string;
}

/**
 * What the provisioner hands a local bastion for one session from 127.0.0.1: a policy with the
 * one local target, the session, its key line and the self-destruct five minutes after the key's
 * bound.
 */
export function localLaunchPlan(options: LocalPlanOptions): LocalPlan {
  const name = options.name ?? 'echo';
  const policy = validatePolicy({
    version: 1,
    adminGroup: 'admins',
    quota: { activeSessionsPerUser: options.activeSessionsPerUser ?? 2 },
    targets: [
      {
        name,
        mode: 'local',
        host: options.host,
        port: options.port,
        allowedGroups: ['engineers'],
        defaultDurationMinutes: 30,
        maxDurationMinutes: 60,
        ...options.target,
      },
    ],
  });
  const target = policy.targets[0] as Target;
  const session = makeSession({
    createdAt: Date.now(),
    sourceIp: '127.0.0.1',
    sourceCidr: options.sourceCidr ?? '127.0.0.1/32',
    publicKey: options.publicKey,
    target: name,
  });
  const keyUntil = (expiresAt: number): string =>
    authorizedKeyLine({
      publicKey: options.publicKey,
      targetHost: target.host,
      targetPort: target.port,
      sourceCidr: session.sourceCidr,
      expiresAt,
      access: target.access,
      sessionId: session.id,
      recorded: target.recording === 'full',
    });
  const expiresAt = options.expiresAt ?? Date.now() + 30 * 60_000;
  return {
    session,
    target,
    policy,
    authorizedKey: keyUntil(expiresAt),
    selfDestructAt: expiresAt + 5 * 60_000,
    selfDestructMinutes: 35,
    keyUntil,
  };
}
