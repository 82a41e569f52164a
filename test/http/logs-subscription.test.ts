import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonical } from '../../lib/domain/audit.ts';
import { ValidationError } from '../../lib/domain/errors.ts';
import { parseIdleEnd, sealChunk } from '../../lib/domain/recording-chain.ts';
import {
  encodeLogsSubscriptionEvent,
  type LogsSubscriptionPayload,
  parseLogsSubscriptionEvent,
} from '../../lib/http/logs-subscription.ts';

const payload: LogsSubscriptionPayload = {
  messageType: 'DATA_MESSAGE',
  owner: '123456789012',
  logGroup: '/drawbridge/dev/sessions',
  logStream: 'i-0123456789abcdef0',
  subscriptionFilters: ['drawbridge-dev-readiness'],
  logEvents: [
    {
      id: '37916170290131617474744180914476339035549208080440295424',
      timestamp: 1_764_000_000_000,
      message: 'Nov 24 09:00:05 ip-10-0-1-7 drawbridge-ready[812]: drawbridge-ready session=s-x',
    },
  ],
};

const arbitraryPayload: fc.Arbitrary<LogsSubscriptionPayload> = fc.record({
  messageType: fc.constantFrom('DATA_MESSAGE' as const, 'CONTROL_MESSAGE' as const),
  owner: fc.string(),
  logGroup: fc.string({ minLength: 1 }),
  logStream: fc.string({ minLength: 1 }),
  subscriptionFilters: fc.array(fc.string(), { maxLength: 3 }),
  logEvents: fc.array(
    fc.record({
      id: fc.string(),
      timestamp: fc.nat(),
      message: fc.string({ unit: 'binary', maxLength: 300 }),
    }),
    { maxLength: 5 },
  ),
});

describe('CloudWatch Logs subscription events', () => {
  it('decodes what CloudWatch sends (base64 of gzip of JSON)', () => {
    expect(parseLogsSubscriptionEvent(encodeLogsSubscriptionEvent(payload))).toEqual(payload);
  });

  it("carries the recorder's chunk line byte for byte, so its hash still holds after delivery", () => {
    const sid = 's-0123456789abcdefghjk';
    const line = canonical(
      sealChunk({
        v: 1,
        sid,
        seq: 3,
        prev: 'a'.repeat(64),
        conn: '1796165246736-2672',
        kind: 'end',
        at: 1_796_165_246_736,
        reason: 'idle',
      }),
    );
    const delivered = parseLogsSubscriptionEvent(
      encodeLogsSubscriptionEvent({
        ...payload,
        logEvents: [{ id: '1', timestamp: 1_796_165_246_740, message: line }],
      }),
    );
    expect(delivered.logEvents[0]?.message).toBe(line);
    expect(parseIdleEnd(delivered.logEvents[0]?.message ?? '')).toEqual({
      sessionId: sid,
      connection: '1796165246736-2672',
    });
  });

  it('decodes every well-formed payload back to itself (property)', () => {
    fc.assert(
      fc.property(arbitraryPayload, (sample) => {
        expect(parseLogsSubscriptionEvent(encodeLogsSubscriptionEvent(sample))).toEqual(sample);
      }),
    );
  });

  it('refuses anything else with a ValidationError, never another error (property)', () => {
    const gzipped = (value: unknown) => ({
      // JSON.stringify(undefined) is undefined: gzip what CloudWatch would carry, the text 'null'.
      awslogs: { data: gzipSync(JSON.stringify(value) ?? 'null').toString('base64') },
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({ awslogs: fc.record({ data: fc.string() }) }),
          fc.record({ awslogs: fc.record({ data: fc.base64String() }) }),
          fc.anything().map(gzipped),
          arbitraryPayload.map((sample) => gzipped({ ...sample, logEvents: 'x' })),
          arbitraryPayload.map((sample) => gzipped({ ...sample, messageType: 'OTHER' })),
        ),
        (event) => {
          try {
            parseLogsSubscriptionEvent(event);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
        },
      ),
    );
  });

  it('says what is wrong', () => {
    expect(() => parseLogsSubscriptionEvent({ awslogs: { data: 'bm90IGd6aXA=' } })).toThrow(
      /not base64 gzip/,
    );
    const bad = {
      awslogs: { data: gzipSync('{"messageType":"DATA_MESSAGE"}').toString('base64') },
    };
    expect(() => parseLogsSubscriptionEvent(bad)).toThrow(/owner/);
  });

  it('refuses a gzip bomb instead of inflating it', () => {
    const bomb = { awslogs: { data: gzipSync(Buffer.alloc(20 * 1024 * 1024)).toString('base64') } };
    expect(() => parseLogsSubscriptionEvent(bomb)).toThrow(ValidationError);
  });
});
