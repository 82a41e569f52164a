import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonical } from '../../lib/domain/audit.ts';
import {
  advanceChain,
  type ChainCheckpoint,
  type StoredLine,
} from '../../lib/domain/recording-chain.ts';
import { linkChunks } from '../support/recording-chunks.ts';

const SID = 's-0123456789abcdefghjk';

function chain(kinds: readonly ('start' | 'data' | 'end')[], conns: readonly string[]): string[] {
  const bodies = kinds.map((kind, i) => ({
    conn: conns[i % conns.length] ?? 'c1',
    ...(kind === 'start'
      ? { kind, at: 1, width: 80, height: 24, user: 'db-x', input: false }
      : kind === 'data'
        ? { kind, events: [[2, 'o', 'x']] }
        : { kind, at: 3, reason: 'exit' }),
  }));
  return linkChunks(SID, bodies).map((chunk) => canonical(chunk));
}

/** Reads `filed` step by step as the seal does: each from the last time read, at most `step` lines. */
function resumed(filed: readonly StoredLine[], step: number): ChainCheckpoint {
  let at: ChainCheckpoint | undefined;
  for (let reads = 0; reads < 10_000; reads += 1) {
    const from = at?.at;
    const rest = filed.filter((entry) => from === undefined || entry.at >= from);
    const next = advanceChain(SID, at, rest.slice(0, step));
    if (rest.length <= step) return next;
    at = next;
  }
  throw new Error('no progress');
}

describe('advanceChain: a recording read in steps, resumed by time', () => {
  it('ends where one whole read ends (head, closed-ness, problems), whatever the steps and same-millisecond groups', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('start' as const, 'data' as const, 'end' as const), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.array(fc.constantFrom('c1', 'c2', 'c3'), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 3 }),
        (kinds, conns, perMs, extra) => {
          const lines = chain(kinds, conns);
          const filed = lines.map((line, i) => ({ at: 100 + Math.floor(i / perMs), line }));
          // a step must hold more than one millisecond's lines to move on
          const step = perMs + 1 + extra;
          expect(resumed(filed, step)).toEqual(advanceChain(SID, undefined, filed));
        },
      ),
    );
  });

  it('a chunk that does not follow the checkpoint is a problem of the chain, kept to the end', () => {
    const lines = chain(['start', 'data', 'data', 'end'], ['c1']);
    const filed = lines.map((line, i) => ({ at: 100 + i, line }));
    const first = advanceChain(SID, undefined, filed.slice(0, 2));
    const next = advanceChain(
      SID,
      first,
      [filed[1], filed[3]].flatMap((x) => (x ? [x] : [])),
    );
    expect(next.problem).toEqual({ kind: 'missing', seq: 3 });
    expect(next).toMatchObject({ seq: 4, open: [] });
  });
});
