import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordingTermsWords } from '../../lib/domain/recording-words.ts';

describe("a recorded target's terms in words (CLI targets, console picker)", () => {
  it('says input too, the idle timeout and whether it ends the session; nothing for a bare terminal', () => {
    expect(
      recordingTermsWords({
        mode: 'full',
        input: true,
        idleTimeoutMinutes: 15,
        idleEndsSession: true,
      }),
    ).toBe('input too, idle 15 min ends session');
    expect(
      recordingTermsWords({
        mode: 'full',
        input: false,
        idleTimeoutMinutes: 30,
        idleEndsSession: false,
      }),
    ).toBe('idle 30 min disconnects');
    expect(recordingTermsWords({ mode: 'full', input: false })).toBe('');
    expect(recordingTermsWords({ mode: 'metadata', input: true, idleTimeoutMinutes: 5 })).toBe('');
    expect(recordingTermsWords(undefined)).toBe('');
  });

  it('whatever an API sends, says only its own words, each true of what was sent', () => {
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({
          mode: maybe(fc.oneof(fc.constantFrom('full', 'metadata', 'off'), fc.string())),
          input: maybe(fc.boolean()),
          idleTimeoutMinutes: maybe(fc.oneof(fc.integer(), fc.double())),
          idleEndsSession: maybe(fc.boolean()),
        }),
        (terms) => {
          const words = recordingTermsWords(terms);
          expect(words).toMatch(/^(input too)?(, )?(idle \d+ min (ends session|disconnects))?$/);
          expect(words.includes('input too')).toBe(terms.mode === 'full' && terms.input === true);
          const idle = terms.idleTimeoutMinutes;
          const idleSaid = terms.mode === 'full' && Number.isSafeInteger(idle) && Number(idle) > 0;
          expect(words.includes(`idle ${idle} min`)).toBe(idleSaid);
          if (idleSaid) {
            expect(words.endsWith('disconnects')).toBe(terms.idleEndsSession === false);
          }
        },
      ),
    );
  });
});
