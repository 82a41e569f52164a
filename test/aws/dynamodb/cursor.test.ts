import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ByOwnerCursor,
  decodeCursor,
  encodeCursor,
  InvalidCursorError,
} from '../../../lib/aws/dynamodb/cursor.ts';
import { useDynamo } from '../../support/dynamo.ts';
import { BASE_TIME, makeSession } from '../../support/sessions.ts';

const dynamo = useDynamo();
const MINUTE = 60_000;

const cursorOf = (value: unknown): string =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

async function aliceAndBob() {
  for (const owner of ['alice', 'bob']) {
    for (let index = 0; index < 3; index += 1) {
      await dynamo.store.create(makeSession({ owner, createdAt: BASE_TIME + index * MINUTE }), {
        quota: 5,
        event: { type: 'requested', actor: owner },
      });
    }
  }
}

async function outcome(run: () => Promise<unknown>): Promise<'ok' | 'invalid cursor' | unknown> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    return error instanceof InvalidCursorError ? 'invalid cursor' : error;
  }
}

const validOwnerKey = {
  pk: 'SESSION#s-0123456789abcdefghjk',
  sk: 'SESSION',
  owner: 'alice',
  createdAt: BASE_TIME,
};

describe('decodeCursor', () => {
  it('reads back what encodeCursor wrote', () => {
    expect(decodeCursor(encodeCursor(validOwnerKey) ?? '', ByOwnerCursor)).toEqual(validOwnerKey);
  });

  it.each([
    ['a number beyond 2^53', { ...validOwnerKey, createdAt: 1e38 }],
    ['a negative number beyond -2^53', { ...validOwnerKey, createdAt: -1e38 }],
    ['a fractional number', { ...validOwnerKey, createdAt: 1.5 }],
    ['a number given as a string', { ...validOwnerKey, createdAt: String(BASE_TIME) }],
    ['an extra attribute', { ...validOwnerKey, extra: 'x' }],
    ['a missing attribute', { pk: validOwnerKey.pk, sk: 'SESSION', owner: 'alice' }],
    ['another item kind', { ...validOwnerKey, pk: 'QUOTA#alice', sk: 'QUOTA' }],
    ['an overlong owner', { ...validOwnerKey, owner: 'a'.repeat(257) }],
    ['an empty owner', { ...validOwnerKey, owner: '' }],
    ['an array', [1]],
    ['null', null],
  ])('refuses %s', (_what, value) => {
    expect(() => decodeCursor(cursorOf(value), ByOwnerCursor)).toThrow(InvalidCursorError);
  });

  it.each([
    ['not base64url', 'not a cursor!'],
    ['base64url of no JSON', Buffer.from('{').toString('base64url')],
    ['longer than 2048 characters', 'A'.repeat(2049)],
    ['empty', ''],
  ])('refuses a cursor that is %s', (_what, cursor) => {
    expect(() => decodeCursor(cursor, ByOwnerCursor)).toThrow(InvalidCursorError);
  });

  it('refuses a cursor that does not fit the query', () => {
    expect(() =>
      decodeCursor(cursorOf(validOwnerKey), ByOwnerCursor, (key) => key.owner === 'bob'),
    ).toThrow(InvalidCursorError);
  });

  it('never throws anything but InvalidCursorError, whatever the string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), (cursor) => {
        try {
          decodeCursor(cursor, ByOwnerCursor);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidCursorError);
        }
      }),
    );
  });
});

describe('cursors against the DynamoDB store', () => {
  it('answers a cursor holding createdAt 1e38 with invalid cursor, on every listing', async () => {
    await aliceAndBob();
    const huge = cursorOf({ ...validOwnerKey, createdAt: 1e38 });
    const hugeCreated = cursorOf({
      pk: validOwnerKey.pk,
      sk: 'SESSION',
      kind: 'session',
      createdAt: 1e38,
    });
    const hugeReview = cursorOf({
      pk: 'REVIEW#s-0123456789abcdefghjk',
      sk: 'REVIEW',
      kind: 'review-open',
      createdAt: 1e38,
    });

    expect(await outcome(() => dynamo.store.listByOwner('alice', { limit: 2, cursor: huge }))).toBe(
      'invalid cursor',
    );
    expect(
      await outcome(() =>
        dynamo.store.listAll({ limit: 2, owner: 'alice', status: 'REQUESTED', cursor: huge }),
      ),
    ).toBe('invalid cursor');
    expect(await outcome(() => dynamo.store.listAll({ limit: 2, cursor: hugeCreated }))).toBe(
      'invalid cursor',
    );
    expect(
      await outcome(() =>
        dynamo.store.listCreatedBetween(0, Number.MAX_SAFE_INTEGER, {
          limit: 2,
          cursor: hugeCreated,
        }),
      ),
    ).toBe('invalid cursor');
    expect(
      await outcome(() =>
        dynamo.store.listReviews({ status: 'open', limit: 2, cursor: hugeReview }),
      ),
    ).toBe('invalid cursor');
  });

  it("never pages through another owner's sessions with a cursor built from their keys", async () => {
    await aliceAndBob();
    const bobs = await dynamo.store.listByOwner('bob', { limit: 1 });
    const bobKey = JSON.parse(Buffer.from(bobs.cursor ?? '', 'base64url').toString('utf8'));

    // Bob's own cursor, and one that keeps bob's keys but claims to be alice's.
    for (const cursor of [bobs.cursor ?? '', cursorOf({ ...bobKey, owner: 'carol' })]) {
      expect(await outcome(() => dynamo.store.listByOwner('alice', { limit: 5, cursor }))).toBe(
        'invalid cursor',
      );
    }
    // A well-formed alice cursor that names bob's item still lists only alice's sessions.
    const page = await dynamo.store.listByOwner('alice', {
      limit: 5,
      cursor: cursorOf({ ...bobKey, owner: 'alice' }),
    });
    expect(page.items.every((session) => session.owner === 'alice')).toBe(true);
  });

  it('answers any random cursor with a page or invalid cursor, never anything else', async () => {
    await aliceAndBob();
    const field = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.constantFrom(1e38, -1e38, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, BASE_TIME),
      fc.string({ maxLength: 40 }),
      fc.constantFrom('SESSION', 'SESSION#s-0123456789abcdefghjk', 'alice', 'bob', 'session'),
      fc.constant(null),
      fc.boolean(),
    );
    const keyLike = fc.record(
      {
        pk: field,
        sk: field,
        owner: field,
        kind: field,
        createdAt: field,
        extra: field,
      },
      { requiredKeys: [] },
    );
    const cursor = fc.oneof(
      keyLike.map(cursorOf),
      fc.jsonValue().map(cursorOf),
      fc.string({ maxLength: 100 }),
      fc.base64String({ maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(cursor, async (value) => {
        for (const list of [
          () => dynamo.store.listByOwner('alice', { limit: 2, cursor: value }),
          () => dynamo.store.listAll({ limit: 2, status: 'REQUESTED', cursor: value }),
          () => dynamo.store.listReviews({ status: 'open', limit: 2, cursor: value }),
        ]) {
          expect(['ok', 'invalid cursor']).toContain(await outcome(list));
        }
      }),
      { numRuns: 60 },
    );
  });
});
