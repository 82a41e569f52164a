import type { Recording, Target } from './policy.ts';

/**
 * What a recording keeps, for clients to say it plainly. One shape for a session (its view's
 * `recordingPolicy`) and for a target (GET /targets), built by `recordingTerms` for both.
 */
export interface RecordingPolicyView {
  /** full: the terminal (a shell, never a tunnel); metadata: connections and forwards; off: the audit trail only */
  mode: Recording;
  /** keystrokes too (never those typed while the terminal's echo is off) */
  input: boolean;
  /** no terminal activity this long closes the connection */
  idleTimeoutMinutes?: number;
  /** whether that idle close ends the session too */
  idleEndsSession?: boolean;
}

type TargetTerms = Pick<Target, 'recordInput' | 'idleTimeoutMinutes' | 'idleEndsSession'>;

/**
 * Input and idle terms exist only where the recorder runs (mode full): the policy refuses
 * them elsewhere, and a target gone from the policy has no terms to state.
 */
export function recordingTerms(
  mode: Recording,
  target: TargetTerms | undefined,
): RecordingPolicyView {
  if (mode !== 'full' || !target) return { mode, input: false };
  return {
    mode,
    input: target.recordInput,
    ...(target.idleTimeoutMinutes !== undefined
      ? { idleTimeoutMinutes: target.idleTimeoutMinutes, idleEndsSession: target.idleEndsSession }
      : {}),
  };
}
