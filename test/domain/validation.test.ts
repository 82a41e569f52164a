import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { describeIssues, safeParse } from '../../lib/domain/validation.ts';

const Query = z.strictObject({
  limit: z.int().check(z.maximum(100)),
  owner: z.string(),
  reason: z.string().check(z.minLength(3, 'must say why (3 characters or more)')),
});

const problems = (value: unknown): string => {
  const result = safeParse(Query, value);
  if (result.success) throw new Error('expected a refusal');
  return describeIssues(result.error);
};

describe('safeParse and describeIssues', () => {
  it('word every issue in English, naming the field, though zod/mini carries no messages', () => {
    expect(problems({ limit: 101, reason: 'because', extra: 1 })).toBe(
      'limit: Too big: expected number to be <=100; ' +
        'owner: Invalid input: expected string, received undefined; ' +
        '(root): Unrecognized key: "extra"',
    );
    // what the same parse says without them: nothing a caller could act on
    expect(Query.safeParse({ limit: 101, owner: 'x', reason: 'because' }).error?.issues).toEqual([
      expect.objectContaining({ message: 'Invalid input' }),
    ]);
  });

  it("keep a schema's own words, and report at most three issues", () => {
    expect(problems({ limit: 1, owner: 'x', reason: 'no' })).toBe(
      'reason: must say why (3 characters or more)',
    );
    expect(problems({ a: 1, b: 2, c: 3, d: 4 }).split('; ')).toHaveLength(3);
  });

  it('return the parsed value when it is valid', () => {
    expect(safeParse(Query, { limit: 5, owner: 'x', reason: 'why not' })).toEqual({
      success: true,
      data: { limit: 5, owner: 'x', reason: 'why not' },
    });
  });
});
