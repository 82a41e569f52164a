import { isBreakGlassMember } from '../domain/break-glass.ts';
import { type Policy, type Target, targetsFor } from '../domain/policy.ts';
import { type RecordingPolicyView, recordingTerms } from '../domain/recording-terms.ts';
import type { Identity } from '../domain/session.ts';

/** What a caller may open, and on what terms: read from the policy, never from the table. */
export interface TargetView {
  name: string;
  description?: string;
  mode: Target['mode'];
  /** jump-only (port forwarding) or shell */
  access: Target['access'];
  /** full: the terminal is recorded (a shell, never a tunnel); metadata: connections only */
  recording: Target['recording'];
  /** what the recording keeps (input too?) and the idle timeout: the session view's shape */
  recordingPolicy: RecordingPolicyView;
  defaultDurationMinutes: number;
  maxDurationMinutes: number;
  /** requests wait for a member of these groups */
  approval?: { approverGroups: string[]; timeoutMinutes: number };
  /** the token must show a second factor used at most this long ago */
  requireMfa?: { maxAgeMinutes: number };
  /** for members of the break-glass groups, where break-glass covers this target */
  breakGlass?: { maxDurationMinutes: number };
}

function view(target: Target, breakGlassMinutes: number | undefined): TargetView {
  return {
    name: target.name,
    ...(target.description ? { description: target.description } : {}),
    mode: target.mode,
    access: target.access,
    recording: target.recording,
    recordingPolicy: recordingTerms(target.recording, target),
    defaultDurationMinutes: target.defaultDurationMinutes,
    maxDurationMinutes: target.maxDurationMinutes,
    ...(target.approval
      ? {
          approval: {
            approverGroups: [...target.approval.approverGroups],
            timeoutMinutes: target.approval.timeoutMinutes,
          },
        }
      : {}),
    ...(target.requireMfa
      ? { requireMfa: { maxAgeMinutes: target.requireMfa.maxAgeMinutes } }
      : {}),
    ...(breakGlassMinutes !== undefined
      ? {
          breakGlass: {
            maxDurationMinutes: Math.min(breakGlassMinutes, target.maxDurationMinutes),
          },
        }
      : {}),
  };
}

/**
 * GET /targets: the targets the caller's groups may open, plus for break-glass members the
 * ones break-glass covers. Nothing about other targets (hosts, groups) is revealed.
 */
export function listTargets(policy: Policy, identity: Identity): TargetView[] {
  const breakGlass = isBreakGlassMember(policy, identity) ? policy.breakGlass : undefined;
  const covered = (target: Target): boolean =>
    breakGlass !== undefined && (!breakGlass.targets || breakGlass.targets.includes(target.name));
  const mayOpen = new Set(targetsFor(policy, identity).map((target) => target.name));
  return policy.targets
    .filter((target) => mayOpen.has(target.name) || covered(target))
    .map((target) => view(target, covered(target) ? breakGlass?.maxDurationMinutes : undefined));
}
