import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../lib/domain/errors.ts';
import { identityFromClaims, parseGroupsClaim } from '../../lib/domain/identity.ts';

const GROUP_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

describe('parseGroupsClaim: every shape the claim arrives in', () => {
  it.each([
    ['a JSON array', ['dba', 'sre'], ['dba', 'sre']],
    ["API Gateway's flattened string", '[dba sre on-call]', ['dba', 'sre', 'on-call']],
    ['a one-group flattened string', '[dba]', ['dba']],
    ['a flattened numeric group (not JSON [123])', '[123]', ['123']],
    ['a flattened group named true', '[true]', ['true']],
    ['flattened numeric groups', '[123 456]', ['123', '456']],
    ['a JSON array string', '["dba","sre"]', ['dba', 'sre']],
    ['a JSON array string with spaces', ' [ "dba" , "sre" ] ', ['dba', 'sre']],
    ['a comma string', 'dba,sre, on-call', ['dba', 'sre', 'on-call']],
    ['a space string', 'dba sre', ['dba', 'sre']],
    ['a single group', 'dba', ['dba']],
    ['an empty array', [], []],
    ['an empty JSON array', '[]', []],
    ['an empty string', '', []],
    [
      'Azure-style ids and paths',
      ['0b1c2d3e-aaaa-bbbb-cccc-0123456789ab', '/org/team', 'a@b.c'],
      ['0b1c2d3e-aaaa-bbbb-cccc-0123456789ab', '/org/team', 'a@b.c'],
    ],
  ])('%s', (_label, claim, groups) => {
    expect(parseGroupsClaim(claim)).toEqual(groups);
  });

  it('drops names that are not plain group names, never interpreting them', () => {
    expect(
      parseGroupsClaim([
        'dba',
        'a b',
        'x"y',
        "o'brien",
        'semi;colon',
        '',
        'é',
        'a\nb',
        '$(id)',
        'ok',
      ]),
    ).toEqual(['dba', 'ok']);
    expect(parseGroupsClaim(['x'.repeat(129), 'y'.repeat(128)])).toEqual(['y'.repeat(128)]);
    expect(parseGroupsClaim(['dba', 7, null, { name: 'admins' }, ['admins'], true])).toEqual([
      'dba',
    ]);
    expect(parseGroupsClaim('["dba", "a b", "x;y"]')).toEqual(['dba']);
  });

  it('ignores claims of other types', () => {
    for (const claim of [undefined, null, 42, true, { groups: ['admins'] }, Symbol('x')]) {
      expect(parseGroupsClaim(claim)).toEqual([]);
    }
  });

  it('de-duplicates and keeps at most 100 groups', () => {
    expect(parseGroupsClaim(['a', 'b', 'a'])).toEqual(['a', 'b']);
    const many = Array.from({ length: 500 }, (_, i) => `g${i}`);
    expect(parseGroupsClaim(many)).toEqual(many.slice(0, 100));
    expect(parseGroupsClaim(`[${many.join(' ')}]`)).toHaveLength(100);
  });
});

describe('identityFromClaims', () => {
  it('takes the subject and the configured groups claim', () => {
    expect(
      identityFromClaims(
        { sub: 'alice', 'cognito:groups': '[dba sre]', groups: ['x'] },
        'cognito:groups',
      ),
    ).toEqual({
      subject: 'alice',
      groups: ['dba', 'sre'],
    });
  });

  it('a missing groups claim means no groups', () => {
    expect(identityFromClaims({ sub: 'alice' }, 'groups')).toEqual({
      subject: 'alice',
      groups: [],
    });
  });

  it.each([
    ['no claims', undefined],
    ['no sub', { groups: ['dba'] }],
    ['empty sub', { sub: '' }],
    ['numeric sub', { sub: 42 }],
    ['sub with a newline', { sub: 'alice\nadmin' }],
    ['sub with non-ASCII', { sub: 'alicé' }],
    ['oversize sub', { sub: 'a'.repeat(257) }],
  ])('%s is unauthorized', (_label, claims) => {
    expect(() => identityFromClaims(claims, 'groups')).toThrow(UnauthorizedError);
  });

  it('accepts a 256-character printable subject', () => {
    expect(identityFromClaims({ sub: `${'a'.repeat(255)}~` }, 'groups').subject).toHaveLength(256);
  });
});

describe('property: parseGroupsClaim is total and only returns safe names', () => {
  it('never throws; every name matches the group pattern; no duplicates; at most 100', () => {
    const groupish = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9._:@/+=-]{1,10}$/),
      fc.string({ maxLength: 12 }),
    );
    const claim = fc.oneof(
      fc.anything(),
      fc.array(fc.oneof(groupish, fc.anything()), { maxLength: 120 }),
      fc.array(groupish, { maxLength: 20 }).map((names) => `[${names.join(' ')}]`),
      fc.array(groupish, { maxLength: 20 }).map((names) => JSON.stringify(names)),
      fc.array(groupish, { maxLength: 20 }).map((names) => names.join(',')),
      fc.json(),
      fc.string(),
    );
    fc.assert(
      fc.property(claim, (value) => {
        const groups = parseGroupsClaim(value);
        expect(Array.isArray(groups)).toBe(true);
        for (const group of groups) expect(group).toMatch(GROUP_PATTERN);
        expect(new Set(groups).size).toBe(groups.length);
        expect(groups.length).toBeLessThanOrEqual(100);
      }),
      { numRuns: 3000 },
    );
  });

  it('a flattened list of valid names reads back exactly', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9._:@/+=-]{1,20}$/).filter((n) => !n.includes(','));
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 20 }), (names) => {
        expect(parseGroupsClaim(`[${names.join(' ')}]`)).toEqual(names);
        expect(parseGroupsClaim(names)).toEqual(names);
        expect(parseGroupsClaim(JSON.stringify(names))).toEqual(names);
      }),
    );
  });
});
