import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/domain/errors.ts';
import { parseRecordingQuery } from '../../lib/http/recording-query.ts';

describe('parseRecordingQuery', () => {
  it('defaults to asciicast and accepts text', () => {
    expect(parseRecordingQuery({})).toBe('asciicast');
    expect(parseRecordingQuery({ format: 'text' })).toBe('text');
    expect(parseRecordingQuery({ format: 'asciicast' })).toBe('asciicast');
  });

  it('names an unknown parameter and an unknown format', () => {
    expect(() => parseRecordingQuery({ speed: '2' })).toThrow("unknown query parameter 'speed'");
    expect(() => parseRecordingQuery({ format: 'mp4' })).toThrow(
      'format must be one of asciicast, text',
    );
  });

  it('any query either gives a known format or a ValidationError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(fc.constant('format'), fc.string()),
          fc.oneof(fc.constant('text'), fc.string()),
        ),
        (query) => {
          try {
            expect(['asciicast', 'text']).toContain(parseRecordingQuery(query));
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
        },
      ),
    );
  });
});
