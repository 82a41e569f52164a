import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  grantDurationSeconds,
  ROLE_CHAINING_MAX_SECONDS,
  STS_MIN_DURATION_SECONDS,
  sessionTagsFor,
  sessionTagValue,
  sourceIdentityFor,
} from '../../lib/domain/session-policy.ts';

const SESSION_ID = 's-0123456789abcdefghjk';

describe('the grant around it', () => {
  it('fits DurationSeconds to the window: STS minimum 900 s, role chaining maximum 3600 s (property)', () => {
    fc.assert(
      fc.property(moment(), fc.integer({ min: -3_600_000, max: 86_400_000 }), (now, left) => {
        const seconds = grantDurationSeconds(now, now + left);
        expect(seconds).toBeGreaterThanOrEqual(STS_MIN_DURATION_SECONDS);
        expect(seconds).toBeLessThanOrEqual(ROLE_CHAINING_MAX_SECONDS);
        expect(Number.isInteger(seconds)).toBe(true);
        // never shorter than the window when the window fits
        if (left <= ROLE_CHAINING_MAX_SECONDS * 1000)
          expect(seconds * 1000).toBeGreaterThanOrEqual(left);
      }),
    );
    expect(grantDurationSeconds(0, 30 * 60_000)).toBe(1800);
    expect(grantDurationSeconds(0, 5 * 60_000)).toBe(900);
    expect(grantDurationSeconds(0, 5 * 3_600_000)).toBe(3600);
  });

  function moment() {
    return fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2100, 0, 1) });
  }

  it('maps any owner to a SourceIdentity STS accepts, keeps fitting ones as they are, and keeps different owners apart (property)', () => {
    const sts = /^[\w+=,.@-]{2,64}$/;
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (owner) => {
        const identity = sourceIdentityFor(owner);
        expect(identity).toMatch(sts);
        if (sts.test(owner)) expect(identity).toBe(owner);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), fc.string({ maxLength: 120 }), (a, b) => {
        fc.pre(a !== b);
        expect(sourceIdentityFor(a)).not.toBe(sourceIdentityFor(b));
      }),
    );
    expect(sourceIdentityFor('alice@example.com')).toBe('alice@example.com');
    expect(sourceIdentityFor('https://idp.example.com/users/Alice Smith')).toMatch(
      /^https___idp\.example\.com_users_Alice_Smith\.[0-9a-f]{11}$/,
    );
    expect(sourceIdentityFor('x')).toMatch(/^x\.[0-9a-f]{11}$/);
  });

  it('tags the role session with the session, the owner and the break-glass flag, all transitive (property)', () => {
    const tagValue = /^[\p{L}\p{Z}\p{N}_.:/=+@-]{0,256}$/u;
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.boolean(), (owner, flag) => {
        const { tags, transitiveTagKeys } = sessionTagsFor({
          id: SESSION_ID,
          owner,
          breakGlass: flag,
        });
        expect(tags.map((tag) => tag.Key)).toEqual([
          'drawbridge:session',
          'drawbridge:owner',
          'drawbridge:break-glass',
        ]);
        expect(transitiveTagKeys).toEqual(tags.map((tag) => tag.Key));
        for (const tag of tags) expect(tag.Value).toMatch(tagValue);
        expect(tags[0]?.Value).toBe(SESSION_ID);
        expect(tags[2]?.Value).toBe(String(flag));
        expect(sessionTagValue(owner)).toBe(tags[1]?.Value);
      }),
    );
  });
});
