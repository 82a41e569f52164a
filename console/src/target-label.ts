// Imports nothing of the page (api.ts reads document), so a unit test can load it.
import { type RecordingTermsLike, recordingTermsWords } from '../../lib/domain/recording-words.ts';

export interface TargetChoice {
  name: string;
  description?: string;
  defaultDurationMinutes?: number;
  maxDurationMinutes?: number;
  breakGlass?: boolean;
  /** full: a recorded shell on the bastion, never a tunnel */
  recording?: string;
  /** input too? idle timeout? (the session view's shape; an older API sends none) */
  recordingPolicy?: RecordingTermsLike;
}

/**
 * A target as the picker offers it: "prod-shell (recorded, input too, idle 15 min ends
 * session) — description". The terms are the words `drawbridge targets` prints.
 */
export function targetLabel(target: TargetChoice): string {
  const terms =
    target.recording === 'full'
      ? recordingTermsWords({ ...target.recordingPolicy, mode: 'full' })
      : '';
  const recorded = target.recording === 'full' ? ` (recorded${terms ? `, ${terms}` : ''})` : '';
  return `${target.name}${recorded}${target.description ? ` — ${target.description}` : ''}`;
}
