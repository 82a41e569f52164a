import { parseIdleEnd } from '../domain/recording-chain.ts';
import type { AppDeps } from './deps.ts';
import { type IdleLineOutcome, onIdleEndLine } from './idle.ts';
import { type BastionLogLine, onBastionLogLine, type ProofOutcome } from './prove-readiness.ts';

export type BastionLogOutcome = ProofOutcome | IdleLineOutcome;

/**
 * ec2: one line the bastion log group's subscription filter let through: the recorder's idle
 * end chunk (the connection was closed for inactivity), else a readiness proof. Each is
 * accepted only from the stream of the session's own instance.
 */
export function onEc2BastionLog(deps: AppDeps, line: BastionLogLine): Promise<BastionLogOutcome> {
  const idle = parseIdleEnd(line.message);
  return idle ? onIdleEndLine(deps, line, idle) : onBastionLogLine(deps, 'ec2', line);
}
