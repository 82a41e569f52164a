import { ValidationError } from '../domain/errors.ts';
import { RECORDING_FORMATS, type RecordingFormat } from '../domain/session-recording.ts';

/**
 * GET /sessions/{id}/recording?format=asciicast|text (default asciicast). Anything else is a
 * 400 that names what was wrong.
 */
export function parseRecordingQuery(
  query: Readonly<Record<string, string | undefined>>,
): RecordingFormat {
  for (const name of Object.keys(query)) {
    if (name !== 'format') {
      throw new ValidationError(
        `unknown query parameter '${name.slice(0, 40)}' (only format is accepted)`,
      );
    }
  }
  const format = query.format ?? 'asciicast';
  if (!(RECORDING_FORMATS as readonly string[]).includes(format)) {
    throw new ValidationError(`format must be one of ${RECORDING_FORMATS.join(', ')}`);
  }
  return format as RecordingFormat;
}
