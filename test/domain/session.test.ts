import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isLive,
  isSessionId,
  isTerminal,
  LIVE_STATUSES,
  linuxUserFor,
  newSessionId,
  SESSION_ID_PATTERN,
  SessionStatus,
} from '../../lib/domain/session.ts';

/** useradd's portable rule (NAME_REGEX default) and its 32-character limit. */
const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

describe('newSessionId', () => {
  it('matches SESSION_ID_PATTERN every time', () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const id = newSessionId();
        expect(id).toMatch(SESSION_ID_PATTERN);
        expect(isSessionId(id)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('never repeats and uses the whole alphabet (100 random bits)', () => {
    const ids = Array.from({ length: 5000 }, newSessionId);
    expect(new Set(ids).size).toBe(ids.length);
    const seen = new Set(ids.flatMap((id) => [...id.slice(2)]));
    expect([...seen].sort().join('')).toBe('0123456789abcdefghjkmnpqrstvwxyz');
  });

  it('isSessionId refuses look-alikes (Crockford letters i l o u, upper case, wrong length)', () => {
    const valid = 's-0123456789abcdefghjk';
    expect(isSessionId(valid)).toBe(true);
    for (const bad of [
      ...['i', 'l', 'o', 'u', 'K'].map((letter) => `${valid.slice(0, -1)}${letter}`),
      valid.slice(0, -1),
      `${valid}m`,
      `x${valid.slice(1)}`,
      ` ${valid}`,
      `${valid}\n`,
      '',
    ]) {
      expect(isSessionId(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('linuxUserFor', () => {
  it('is a valid, stable Linux user name for every session id', () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const id = newSessionId();
        const user = linuxUserFor(id);
        expect(user).toMatch(LINUX_USER);
        expect(user).toBe(linuxUserFor(id));
        expect(user.startsWith('db-')).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('is taken from the random part of the id, not its prefix', () => {
    expect(linuxUserFor('s-0123456789abcdefghjk')).toBe('db-0123456789ab');
  });

  it('differs between sessions', () => {
    expect(linuxUserFor('s-aaaaaaaaaaaaaaaaaaaa')).not.toBe(linuxUserFor('s-baaaaaaaaaaaaaaaaaaa'));
  });
});

describe('live and terminal statuses', () => {
  it('ENDED and FAILED are the only terminal statuses', () => {
    const all = Object.values(SessionStatus);
    expect(all.filter(isTerminal).sort()).toEqual(['ENDED', 'FAILED']);
    expect(all.filter(isLive).sort()).toEqual([...LIVE_STATUSES].sort());
  });
});
