import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toAsciicast, toText } from '../../lib/domain/asciicast.ts';
import { canonical } from '../../lib/domain/audit.ts';
import {
  type ChainHead,
  parseChunks,
  parseIdleEnd,
  type RecordingChunk,
  sealChunk,
  settleRecording,
  verifyRecording,
} from '../../lib/domain/recording-chain.ts';
import { newSessionId } from '../../lib/domain/session.ts';
import { linkChunks } from '../support/recording-chunks.ts';

const SID = 's-chaintest';

/** A chain as the recorder writes it: start, data chunks with the given outputs, end. */
function chain(outputs: readonly string[]): { chunks: RecordingChunk[]; head: ChainHead } {
  const chunks = linkChunks(SID, [
    { kind: 'start', at: 1000, width: 80, height: 24, user: 'alice', input: false },
    ...outputs.map((text, index) => ({ kind: 'data', events: [[2000 + index * 1000, 'o', text]] })),
    { kind: 'end', at: 9_000_000, reason: 'exit' },
  ]);
  const last = chunks.at(-1) as RecordingChunk;
  return { chunks, head: { seq: last.seq, hash: last.hash } };
}

const outputs = fc.array(fc.string({ minLength: 1, maxLength: 40 }), {
  minLength: 2,
  maxLength: 8,
});

describe('verifyRecording', () => {
  it('accepts an intact, complete chain and the lines the recorder writes', () => {
    const { chunks, head } = chain(['hello\r\n', 'world\r\n']);
    const lines = chunks.map((chunk) => JSON.stringify(chunk));
    expect(verifyRecording(SID, parseChunks(lines), head)).toEqual({
      intact: true,
      chunks: 4,
      complete: true,
    });
  });

  it('accepts a chunk sealed by the Python recorder (same canonical JSON and hash)', () => {
    // Written by bastion/drawbridge-record: escapes, non-ASCII and integer times.
    const line =
      '{"at":1796165246736,"conn":"1796165246736-26728","hash":"e0a9f6b693bc7f89697874543e219f20b78e7962ba07cb1edfb5d02602c528f5","height":24,"input":true,"kind":"start","prev":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"sid":"s-x","user":"root","v":1,"width":80}';
    expect(verifyRecording('s-x', parseChunks([line]))).toMatchObject({ intact: true });
  });

  it('property: altering any chunk is caught as altered', () => {
    fc.assert(
      fc.property(outputs, fc.nat(), (texts, pick) => {
        const { chunks, head } = chain(texts);
        const index = 1 + (pick % texts.length);
        const victim = chunks[index] as RecordingChunk & { events: [number, string, string][] };
        victim.events = [[victim.events[0]?.[0] ?? 0, 'o', 'forged']];
        expect(verifyRecording(SID, chunks, head)).toMatchObject({
          intact: false,
          problem: 'altered',
        });
      }),
    );
  });

  it('property: a chunk replaced by a freshly sealed one breaks the next link (altered)', () => {
    fc.assert(
      fc.property(outputs, fc.nat(), (texts, pick) => {
        const { chunks, head } = chain(texts);
        const index = 1 + (pick % texts.length);
        const { hash: _h, ...body } = chunks[index] as RecordingChunk;
        chunks[index] = sealChunk({
          ...body,
          events: [[1, 'o', 'forged']],
        } as unknown as Omit<RecordingChunk, 'hash'>) as RecordingChunk;
        expect(verifyRecording(SID, chunks, head)).toMatchObject({
          intact: false,
          problem: 'altered',
        });
      }),
    );
  });

  it('property: removing any chunk but the last is caught as missing', () => {
    fc.assert(
      fc.property(outputs, fc.nat(), (texts, pick) => {
        const { chunks, head } = chain(texts);
        chunks.splice(pick % (chunks.length - 1), 1);
        expect(verifyRecording(SID, chunks, head)).toMatchObject({
          intact: false,
          problem: 'missing',
        });
      }),
    );
  });

  it('property: swapping two chunks is caught as reordered', () => {
    fc.assert(
      fc.property(outputs, fc.nat(), fc.nat(), (texts, a, b) => {
        const { chunks, head } = chain(texts);
        const i = a % chunks.length;
        const j = b % chunks.length;
        fc.pre(i !== j);
        [chunks[i], chunks[j]] = [chunks[j] as RecordingChunk, chunks[i] as RecordingChunk];
        expect(verifyRecording(SID, chunks, head)).toMatchObject({
          intact: false,
          problem: 'reordered',
        });
      }),
    );
  });

  it('property: a recording cut short is caught as truncated against the stored head', () => {
    fc.assert(
      fc.property(outputs, fc.nat(), (texts, keep) => {
        const { chunks, head } = chain(texts);
        const cut = chunks.slice(0, keep % chunks.length);
        expect(verifyRecording(SID, cut, head)).toMatchObject({
          intact: false,
          problem: 'truncated',
        });
      }),
    );
  });

  it('a live recording without a head is intact but not complete; junk and foreign lines are named', () => {
    const { chunks } = chain(['a']);
    expect(verifyRecording(SID, chunks.slice(0, 2))).toMatchObject({
      intact: true,
      complete: false,
    });
    expect(verifyRecording(SID, parseChunks(['{"v":1}']))).toMatchObject({ problem: 'malformed' });
    expect(verifyRecording('s-other', chunks)).toMatchObject({ problem: 'foreign' });
  });

  it('property: parseChunks never throws on arbitrary lines', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), (lines) => {
        const verdict = verifyRecording(SID, parseChunks(lines));
        expect(typeof verdict.intact).toBe('boolean');
      }),
    );
  });
});

/** Chunks of several connections in one chain, in the order given: [conn, kind] per chunk. */
function interleaved(steps: readonly [conn: string, kind: 'start' | 'data' | 'end'][]): string[] {
  const bodies = steps.map(([conn, kind]) => ({
    conn,
    ...(kind === 'start'
      ? { kind, at: 1000, width: 80, height: 24, user: 'alice', input: false }
      : kind === 'data'
        ? { kind, events: [[2000, 'o', `${conn} output\r\n`]] }
        : { kind, at: 3000, reason: 'hangup' }),
  }));
  // As the recorder writes them: canonical JSON, one line each.
  return linkChunks(SID, bodies).map((chunk) => canonical(chunk));
}

describe('settleRecording: where a recording stands once its bastion is gone', () => {
  it('is closed, with the last chunk as head, when every connection wrote its end', () => {
    const lines = interleaved([
      ['a', 'start'],
      ['b', 'start'],
      ['a', 'data'],
      ['b', 'end'],
      ['a', 'end'],
    ]);
    const last = parseChunks(lines).at(-1);
    expect(settleRecording(SID, lines)).toEqual({ seq: 5, hash: last?.hash, closed: true });
  });

  it("is not closed while any connection's end is missing, even when another one's end is last", () => {
    const lines = interleaved([
      ['a', 'start'],
      ['b', 'start'],
      ['a', 'data'],
      ['b', 'end'],
    ]);
    expect(settleRecording(SID, lines)).toMatchObject({ seq: 4, closed: false });
    // verify agrees: the recording is not complete while connection a never closed
    expect(verifyRecording(SID, parseChunks(lines))).toMatchObject({
      intact: true,
      complete: false,
    });
  });

  it("has no head when nothing was recorded, and ignores what is not this session's chunk", () => {
    expect(settleRecording(SID, [])).toBeUndefined();
    expect(settleRecording(SID, ['', 'junk'])).toBeUndefined();
    const lines = interleaved([
      ['a', 'start'],
      ['a', 'end'],
    ]);
    expect(settleRecording(SID, [...lines, 'junk'])).toMatchObject({ seq: 2, closed: true });
    expect(settleRecording('s-other', lines)).toBeUndefined();
  });

  it('property: a recording cut anywhere before its end is not closed, and its head is the last chunk kept', () => {
    fc.assert(
      fc.property(outputs, fc.nat(), (texts, keep) => {
        const { chunks } = chain(texts);
        const cut = chunks.slice(0, 1 + (keep % (chunks.length - 1)));
        const last = cut.at(-1) as RecordingChunk;
        expect(
          settleRecording(
            SID,
            cut.map((chunk) => canonical(chunk)),
          ),
        ).toEqual({
          seq: last.seq,
          hash: last.hash,
          closed: false,
        });
      }),
    );
  });
});

describe('parseIdleEnd: the idle end chunk, as the subscription delivers it', () => {
  const idleLine = (sid: string, conn: string, seq = 7, at = 1_796_165_246_736) =>
    canonical(
      sealChunk({ v: 1, sid, seq, prev: 'a'.repeat(64), conn, kind: 'end', at, reason: 'idle' }),
    );

  it('reads the session and connection of an idle end chunk the recorder wrote', () => {
    const sid = newSessionId();
    expect(parseIdleEnd(idleLine(sid, '1796165246736-26728'))).toEqual({
      sessionId: sid,
      connection: '1796165246736-26728',
    });
  });

  it('round-trips every session id, connection, seq and time (property)', () => {
    fc.assert(
      fc.property(
        fc.constant(null).map(newSessionId),
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.nat(),
        (sid, conn, seq, at) => {
          expect(parseIdleEnd(idleLine(sid, conn, seq, at))).toEqual({
            sessionId: sid,
            connection: conn,
          });
        },
      ),
    );
  });

  it('never throws, and finds nothing in text that is not an idle end chunk (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 1100 }), (text) => {
        const parsed = parseIdleEnd(text);
        if (parsed) expect(JSON.parse(text)).toMatchObject({ kind: 'end', reason: 'idle' });
      }),
    );
  });

  it('refuses any one-character change to a real idle end chunk: its hash no longer holds (property)', () => {
    const line = idleLine(newSessionId(), 'c1');
    fc.assert(
      fc.property(fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (pick, replacement) => {
        const index = pick % line.length;
        fc.pre(line[index] !== replacement);
        const changed = `${line.slice(0, index)}${replacement}${line.slice(index + 1)}`;
        expect(parseIdleEnd(changed)).toBeUndefined();
      }),
    );
  });

  it('refuses the other end reasons, other chunks, a proof line, and anything with text around it', () => {
    const sid = newSessionId();
    const [start, data, exit] = interleaved([
      ['c1', 'start'],
      ['c1', 'data'],
      ['c1', 'end'],
    ]);
    for (const line of [
      start,
      data,
      exit,
      `prefix ${idleLine(sid, 'c1')}`,
      `${idleLine(sid, 'c1')} trailing`,
      `drawbridge-ready session=${sid} hostkey=SHA256:${'A'.repeat(43)}`,
      JSON.stringify({ ...JSON.parse(idleLine(sid, 'c1')), extra: 1 }),
    ]) {
      expect(parseIdleEnd(line ?? ''), line).toBeUndefined();
    }
  });
});

describe('asciicast and text', () => {
  it('asciicast v2: header, then events in seconds since the start', () => {
    const { chunks } = chain(['hello\r\n']);
    const [header, event] = toAsciicast(SID, chunks).split('\n');
    expect(JSON.parse(header ?? '')).toMatchObject({
      version: 2,
      width: 80,
      height: 24,
      timestamp: 1,
    });
    expect(JSON.parse(event ?? '')).toEqual([1, 'o', 'hello\r\n']);
  });

  it('text: escapes removed, each line stamped with its UTC time', () => {
    const { chunks } = chain(['\u001b[1mbold\u001b[0m line\r\n']);
    expect(toText(chunks)).toContain('1970-01-01T00:00:02.000Z  bold line');
  });
});
