// No imports: the console bundles this file, and the CLI; both say a target's terms in these words.

/** The terms as a client received them (a newer or older API may send less). */
export interface RecordingTermsLike {
  mode?: string | undefined;
  input?: boolean | undefined;
  idleTimeoutMinutes?: number | undefined;
  idleEndsSession?: boolean | undefined;
}

/**
 * What a recorded target keeps beyond its terminal, compactly, for a table cell or a picker:
 * "input too, idle 15 min ends session". Empty when there is nothing beyond the terminal (or
 * the target is not recorded). Shared by the CLI's `targets` and the console's picker so the
 * two say the same thing.
 */
export function recordingTermsWords(terms: RecordingTermsLike | undefined): string {
  if (terms?.mode !== 'full') return '';
  const idle = terms.idleTimeoutMinutes;
  return [
    ...(terms.input === true ? ['input too'] : []),
    ...(idle !== undefined && Number.isSafeInteger(idle) && idle > 0
      ? [`idle ${idle} min ${terms.idleEndsSession === false ? 'disconnects' : 'ends session'}`]
      : []),
  ].join(', ');
}
