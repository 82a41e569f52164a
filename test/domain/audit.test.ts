import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  type AuditEventBody,
  GENESIS_HASH,
  hashEvent,
  sealEvent,
  verifyChain,
} from '../../lib/domain/audit.ts';

const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);

function chain(steps: Omit<AuditEventBody, 'sessionId' | 'seq' | 'prevHash'>[]): AuditEvent[] {
  const events: AuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (const [index, step] of steps.entries()) {
    const event = sealEvent({
      sessionId: 's-0123456789abcdefghjk',
      seq: index + 1,
      prevHash,
      ...step,
    });
    events.push(event);
    prevHash = event.hash;
  }
  return events;
}

const sample = (): AuditEvent[] =>
  chain([
    {
      at: T0,
      type: 'requested',
      actor: 'alice',
      status: 'REQUESTED',
      detail: { target: 'prod-db', minutes: 30 },
    },
    { at: T0 + 1000, type: 'provisioning', actor: 'system', status: 'PROVISIONING' },
    {
      at: T0 + 9000,
      type: 'ready',
      actor: 'system',
      status: 'READY',
      detail: { instanceId: 'i-0abc' },
    },
    {
      at: T0 + 60_000,
      type: 'revoked',
      actor: 'bob',
      status: 'ENDING',
      detail: { breakGlass: false },
    },
    { at: T0 + 70_000, type: 'ended', actor: 'system', status: 'ENDED' },
  ]);

describe('sealEvent', () => {
  it('hashes to 64 hex chars and links each event to the one before', () => {
    const events = sample();
    expect(events[0]?.prevHash).toBe(GENESIS_HASH);
    for (const [index, event] of events.entries()) {
      expect(event.hash).toMatch(/^[0-9a-f]{64}$/);
      if (index > 0) expect(event.prevHash).toBe(events[index - 1]?.hash);
    }
    expect(new Set(events.map((event) => event.hash)).size).toBe(events.length);
  });

  it('does not depend on key order, and ignores undefined fields (a store round-trip drops them)', () => {
    const body: AuditEventBody = {
      sessionId: 's-1',
      seq: 1,
      at: T0,
      type: 'requested',
      actor: 'alice',
      status: 'REQUESTED',
      detail: { b: 2, a: 'x' },
      prevHash: GENESIS_HASH,
    };
    const reordered: AuditEventBody = {
      prevHash: GENESIS_HASH,
      detail: { a: 'x', b: 2 },
      status: 'REQUESTED',
      actor: 'alice',
      type: 'requested',
      at: T0,
      seq: 1,
      sessionId: 's-1',
    };
    expect(hashEvent(reordered)).toBe(hashEvent(body));
    const { detail: _detail, ...withoutDetail } = body;
    expect(hashEvent({ ...withoutDetail, detail: undefined })).toBe(hashEvent(withoutDetail));
  });

  it('a value of another type hashes differently (1 vs "1")', () => {
    const [event] = sample();
    if (!event) throw new Error('empty sample');
    const { hash: _hash, ...body } = event;
    expect(hashEvent({ ...body, detail: { minutes: '30', target: 'prod-db' } })).not.toBe(
      hashEvent(body),
    );
  });
});

describe('verifyChain', () => {
  it('an intact chain verifies, as does an empty one', () => {
    expect(verifyChain(sample())).toEqual({ intact: true });
    expect(verifyChain([])).toEqual({ intact: true });
  });

  const fieldChanges: [string, (event: AuditEvent) => AuditEvent][] = [
    ['actor', (event) => ({ ...event, actor: 'mallory' })],
    ['type', (event) => ({ ...event, type: 'approved' })],
    ['status', (event) => ({ ...event, status: 'FAILED' })],
    ['at', (event) => ({ ...event, at: event.at + 1 })],
    ['sessionId', (event) => ({ ...event, sessionId: 's-other' })],
    ['detail added', (event) => ({ ...event, detail: { ...event.detail, breakGlass: true } })],
    ['detail removed', ({ detail: _detail, ...event }) => event],
  ];

  it.each(fieldChanges)('detects a changed %s, at the event changed', (_label, change) => {
    // events 1, 3 and 4 carry a detail
    for (const at of [0, 2, 3]) {
      const events = sample();
      const original = events[at];
      if (!original) throw new Error('sample too short');
      events[at] = change(original);
      expect(verifyChain(events)).toEqual({ intact: false, brokenAt: at + 1 });
    }
  });

  it('detects a changed field even when the attacker re-seals that event', () => {
    const events = sample();
    const second = events[1];
    if (!second) throw new Error('sample too short');
    const { hash: _hash, ...body } = second;
    events[1] = sealEvent({ ...body, actor: 'mallory' });
    expect(verifyChain(events)).toEqual({ intact: false, brokenAt: 3 });
  });

  it.each([0, 1, 2, 3])('detects the removal of event %d', (index) => {
    const events = sample();
    events.splice(index, 1);
    expect(verifyChain(events)).toEqual({ intact: false, brokenAt: index + 1 });
  });

  it('detects reordered events', () => {
    const events = sample();
    const [a, b] = [events[1], events[2]];
    if (!a || !b) throw new Error('sample too short');
    events[1] = b;
    events[2] = a;
    expect(verifyChain(events)).toEqual({ intact: false, brokenAt: 2 });
    expect(verifyChain([...sample()].reverse()).intact).toBe(false);
  });

  it('detects a changed hash, on the last event too', () => {
    for (const at of [0, 2, 4]) {
      const events = sample();
      const original = events[at];
      if (!original) throw new Error('sample too short');
      events[at] = {
        ...original,
        hash: `${original.hash.slice(0, -1)}${original.hash.endsWith('0') ? '1' : '0'}`,
      };
      expect(verifyChain(events)).toEqual({ intact: false, brokenAt: at + 1 });
    }
  });

  it('refuses a chain whose seq does not count 1, 2, 3… even if every hash links', () => {
    const first = sealEvent({
      sessionId: 's-1',
      seq: 1,
      at: T0,
      type: 'a',
      actor: 'x',
      status: 'READY',
      prevHash: GENESIS_HASH,
    });
    const skipped = sealEvent({
      sessionId: 's-1',
      seq: 3,
      at: T0,
      type: 'b',
      actor: 'x',
      status: 'READY',
      prevHash: first.hash,
    });
    expect(verifyChain([first, skipped])).toEqual({ intact: false, brokenAt: 2 });
    const late = sealEvent({
      sessionId: 's-1',
      seq: 2,
      at: T0,
      type: 'a',
      actor: 'x',
      status: 'READY',
      prevHash: GENESIS_HASH,
    });
    expect(verifyChain([late])).toEqual({ intact: false, brokenAt: 1 });
  });

  it('detects an event spliced in from another chain', () => {
    const events = sample();
    const foreign = chain([{ at: T0, type: 'requested', actor: 'eve', status: 'REQUESTED' }])[0];
    if (!foreign) throw new Error('no foreign event');
    events[0] = foreign;
    expect(verifyChain(events)).toEqual({ intact: false, brokenAt: 2 });
  });

  it('property: any chain verifies, and any single-field change to any event breaks it there', () => {
    const step = fc.record(
      {
        at: fc.integer({ min: 0, max: 2 ** 45 }),
        type: fc.string({ maxLength: 10 }),
        actor: fc.string({ maxLength: 10 }),
        status: fc.constantFrom('REQUESTED', 'PROVISIONING', 'READY', 'ENDING', 'ENDED', 'FAILED'),
        detail: fc.dictionary(
          fc.string({ maxLength: 5 }),
          fc.oneof(fc.string(), fc.integer(), fc.boolean()),
          {
            maxKeys: 3,
          },
        ),
      },
      { requiredKeys: ['at', 'type', 'actor', 'status'] },
    );
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 5 }),
        (steps, pick, suffix) => {
          const events = chain(steps);
          expect(verifyChain(events)).toEqual({ intact: true });
          const at = pick % events.length;
          const original = events[at];
          if (!original) throw new Error('unreachable');
          events[at] = { ...original, actor: `${original.actor}${suffix}` };
          expect(verifyChain(events)).toEqual({ intact: false, brokenAt: at + 1 });
        },
      ),
      { numRuns: 300 },
    );
  });
});
