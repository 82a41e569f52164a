import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { canonical, GENESIS_HASH } from './audit.ts';

/**
 * One chunk of a session recording, as the recorder (bastion/drawbridge-record) writes it: one
 * JSON line, shipped off-host as soon as it is written. Chunks of all the session's connections
 * form one chain: `seq` counts from 1, `prev` is the previous chunk's hash (GENESIS_HASH for the
 * first), `hash` is sha256 over the canonical JSON of every other field. Times are integer
 * milliseconds since the epoch, so the recorder (Python) and this module (JavaScript) write the
 * same canonical text: no float formatting differs between them.
 */
export const EVENT_CODES = ['o', 'i', 'r', 'm'] as const;
export type EventCode = (typeof EVENT_CODES)[number];
export type RecordingEvent = [at: number, code: EventCode, data: string];

const millis = z.lazy(() => z.int().check(z.nonnegative()));
const base = {
  v: z.literal(1),
  sid: z.string().check(z.minLength(1), z.maxLength(64)),
  seq: z.int().check(z.minimum(1)),
  prev: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  conn: z.string().check(z.minLength(1), z.maxLength(64)),
  hash: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
};
export const ChunkSchema = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.strictObject({
      ...base,
      kind: z.literal('start'),
      at: millis,
      width: z.int().check(z.minimum(1), z.maximum(10000)),
      height: z.int().check(z.minimum(1), z.maximum(10000)),
      user: z.string().check(z.maxLength(64)),
      input: z.boolean(),
    }),
    z.strictObject({
      ...base,
      kind: z.literal('data'),
      events: z.array(z.tuple([millis, z.enum(EVENT_CODES), z.string()])).check(z.minLength(1)),
    }),
    z.strictObject({
      ...base,
      kind: z.literal('end'),
      at: millis,
      reason: z.enum(['exit', 'idle', 'hangup', 'sink-failed', 'signal']),
    }),
  ]),
);
export type RecordingChunk = z.infer<typeof ChunkSchema>;

/** The last link, which the session stores when it ends: a cut-short recording no longer reaches it. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * The head as the session stores it, with whether the recording was closed: every connection
 * that left a chunk also left its end chunk. false: the bastion went before its recorder could
 * close the recording (killed, or its last seconds never shipped). Absent on heads stored
 * before this was recorded.
 */
export interface RecordingHead extends ChainHead {
  closed?: boolean;
}

export function chunkHash(chunk: Omit<RecordingChunk, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...body } = chunk;
  return createHash('sha256').update(canonical(body)).digest('hex');
}

/** Seals a chunk body the way the recorder does: the tests and the local tools build chains with it. */
export function sealChunk<T extends Omit<RecordingChunk, 'hash'>>(body: T): T & { hash: string } {
  return { ...body, hash: chunkHash(body) };
}

export const CHAIN_PROBLEMS = [
  'malformed',
  'foreign',
  'altered',
  'missing',
  'reordered',
  'truncated',
  /** not the chain's fault: only its beginning could be read, so its end was never checked */
  'partial',
  /** the session ended and settled without storing a head: the recording's end cannot be checked */
  'unsealed',
] as const;
export type ChainProblem = (typeof CHAIN_PROBLEMS)[number];

export interface RecordingVerdict {
  intact: boolean;
  chunks: number;
  /** true when the last connection's end was recorded (false: still live, or the bastion died) */
  complete: boolean;
  problem?: ChainProblem;
  /** the chunk (its position, 1-based, in the stored order) where the chain first breaks */
  at?: number;
  detail?: string;
}

/** Parses the stored lines; a line that is not a chunk is kept as undefined so verify can name it. */
export function parseChunks(lines: readonly string[]): (RecordingChunk | undefined)[] {
  return lines
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        const parsed = ChunkSchema.safeParse(JSON.parse(line));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined;
      }
    });
}

/**
 * Checks a recording as stored (in stored order) against itself and, once the session has
 * ended, against the head it stored. Reports the first problem: a chunk that is not one
 * (malformed), of another session (foreign), changed (its hash or its link does not hold),
 * a gap in seq (missing), seq out of order (reordered), or an end short of the head (truncated).
 */
export function verifyRecording(
  sessionId: string,
  stored: readonly (RecordingChunk | undefined)[],
  head?: ChainHead,
): RecordingVerdict {
  const verdict = (at: number, problem: ChainProblem, detail: string): RecordingVerdict => ({
    intact: false,
    chunks: stored.length,
    complete: false,
    problem,
    at,
    detail,
  });
  const chunks: RecordingChunk[] = [];
  for (const [index, chunk] of stored.entries()) {
    if (!chunk)
      return verdict(index + 1, 'malformed', `chunk ${index + 1} is not a recording chunk`);
    if (chunk.sid !== sessionId) {
      return verdict(index + 1, 'foreign', `chunk ${index + 1} belongs to another session`);
    }
    if (chunkHash(chunk) !== chunk.hash) {
      return verdict(
        index + 1,
        'altered',
        `chunk ${chunk.seq} does not match its hash: it was changed`,
      );
    }
    chunks.push(chunk);
  }
  for (const [index, chunk] of chunks.entries()) {
    if (chunk.seq === index + 1) continue;
    const expected = index + 1;
    const later = chunks.slice(index + 1).some((other) => other.seq === expected);
    return later || chunk.seq < expected
      ? verdict(
          index + 1,
          'reordered',
          `position ${index + 1} holds chunk ${chunk.seq}: the chunks were reordered`,
        )
      : verdict(
          index + 1,
          'missing',
          `chunk ${expected} is missing (the next stored is ${chunk.seq})`,
        );
  }
  let prev = GENESIS_HASH;
  for (const [index, chunk] of chunks.entries()) {
    if (chunk.prev !== prev) {
      return verdict(
        index + 1,
        'altered',
        `chunk ${chunk.seq} does not link to chunk ${chunk.seq - 1}: one of them was replaced`,
      );
    }
    prev = chunk.hash;
  }
  const last = chunks.at(-1);
  if (head) {
    const lastSeq = last?.seq ?? 0;
    if (lastSeq < head.seq) {
      return verdict(
        chunks.length,
        'truncated',
        `the recording ends at chunk ${lastSeq} but the session recorded ${head.seq}: it was cut short`,
      );
    }
    if (lastSeq > head.seq || last?.hash !== head.hash) {
      return verdict(
        chunks.length,
        'altered',
        "the recording's last chunk is not the one the session recorded: chunks were added or replaced",
      );
    }
  }
  return { intact: true, chunks: chunks.length, complete: chunks.length > 0 && allClosed(chunks) };
}

/**
 * A read that stopped before the recording's end (a reader's bound): the chunks read are checked
 * link by link, but the end cannot be held to the session's head, so it is never intact. A
 * problem within what was read is reported as such: it is there whatever follows.
 */
export function verifyRecordingPrefix(
  sessionId: string,
  stored: readonly (RecordingChunk | undefined)[],
): RecordingVerdict {
  const verdict = verifyRecording(sessionId, stored);
  if (!verdict.intact) return verdict;
  return {
    intact: false,
    chunks: verdict.chunks,
    complete: false,
    problem: 'partial',
    detail: `only the first ${verdict.chunks} chunks could be read here (the recording is longer than one read): they hold, but its end was not checked`,
  };
}

/** Every connection that left a chunk left its end chunk too (vacuously true for none). */
function allClosed(chunks: readonly RecordingChunk[]): boolean {
  const open = new Set<string>();
  for (const chunk of chunks) {
    if (chunk.kind === 'end') open.delete(chunk.conn);
    else open.add(chunk.conn);
  }
  return open.size === 0;
}

/**
 * Where a recording stands, from the lines stored so far: its head (the session's last chunk;
 * undefined when nothing was recorded) and whether it is closed. Read once its bastion is gone,
 * a closed recording cannot grow; one that is not may still have chunks on their way.
 */
export function settleRecording(
  sessionId: string,
  lines: readonly string[],
): RecordingHead | undefined {
  return headOf(
    advanceChain(
      sessionId,
      undefined,
      lines.map((line) => ({ at: 0, line })),
    ),
  );
}

/** One stored line with the time the store filed it under (epoch ms; 0 where it keeps none). */
export interface StoredLine {
  at: number;
  line: string;
}

/**
 * Connections open at once that a checkpoint remembers. sshd's MaxSessions and MaxStartups keep
 * a session far below this; past it the recording is never called closed (openOverflow), which
 * is the safe side: closed is a claim that every connection's end chunk was read.
 */
export const MAX_OPEN_CONNECTIONS = 64;

/**
 * How far the reaper has read a recording too long for one read, kept on the session between
 * its sweeps (RecordingSettle.read): enough to go on from there and to tell the head and
 * whether the recording closed without reading the beginning again.
 */
export interface ChainCheckpoint {
  /** the last chunk read (0 and GENESIS_HASH before any) */
  seq: number;
  hash: string;
  /** when the store filed the last line read (epoch ms): the next read starts at this time */
  at: number;
  /** chunks read so far */
  chunks: number;
  /** connections that left a chunk but no end chunk yet */
  open: string[];
  /** more connections were open at once than `open` holds: never closed */
  openOverflow?: boolean;
  /**
   * the first problem met in the chain, and the seq where it broke: the chunk's own, or for a
   * line that is not a chunk of this session, the seq the next chunk should have had
   */
  problem?: { kind: ChainProblem; seq: number };
}

/**
 * Reads on from a checkpoint (undefined: from the beginning) over the next stored lines, which
 * start at the checkpoint's time. Lines filed in the same millisecond as the last one read are
 * read again by a read that starts there: a chunk among them whose seq is not past the
 * checkpoint's was read already and is skipped (so is a line there that is not a chunk: it
 * was seen, or it is an injected line whose problem verify reports). From there on every chunk
 * must follow the checkpoint's: next seq, linked to its hash. A chunk that does not is a problem
 * of the chain, kept (the first one) to be reported with the seal; the read goes on from that
 * chunk, so the head is still the last chunk stored, as a whole read would find it.
 */
export function advanceChain(
  sessionId: string,
  from: ChainCheckpoint | undefined,
  lines: readonly StoredLine[],
): ChainCheckpoint {
  const open = new Set(from?.open ?? []);
  let cursor: ChainCheckpoint = from
    ? { ...from, open: [] }
    : { seq: 0, hash: GENESIS_HASH, at: 0, chunks: 0, open: [] };
  const note = (kind: ChainProblem, seq: number) => {
    if (!cursor.problem) cursor = { ...cursor, problem: { kind, seq } };
  };
  for (const { at, line } of lines) {
    if (line.trim() === '') continue;
    const [chunk] = parseChunks([line]);
    if (from && at <= from.at && (chunk === undefined || chunk.seq <= from.seq)) continue;
    cursor = { ...cursor, at: Math.max(cursor.at, at) };
    if (!chunk) {
      note('malformed', cursor.seq + 1);
      continue;
    }
    if (chunk.sid !== sessionId) {
      note('foreign', cursor.seq + 1);
      continue;
    }
    if (chunkHash(chunk) !== chunk.hash) note('altered', chunk.seq);
    else if (chunk.seq > cursor.seq + 1) note('missing', cursor.seq + 1);
    else if (chunk.seq <= cursor.seq) note('reordered', chunk.seq);
    else if (chunk.prev !== cursor.hash) note('altered', chunk.seq);
    if (chunk.kind === 'end') open.delete(chunk.conn);
    else open.add(chunk.conn);
    cursor = { ...cursor, seq: chunk.seq, hash: chunk.hash, chunks: cursor.chunks + 1 };
  }
  const overflow = cursor.openOverflow === true || open.size > MAX_OPEN_CONNECTIONS;
  const { openOverflow: _was, ...rest } = cursor;
  return {
    ...rest,
    open: [...open].slice(0, MAX_OPEN_CONNECTIONS),
    ...(overflow ? { openOverflow: true } : {}),
  };
}

/** The head a checkpoint stands at: undefined before any chunk; closed only if no connection is open. */
export function headOf(checkpoint: ChainCheckpoint): RecordingHead | undefined {
  if (checkpoint.chunks === 0) return undefined;
  return {
    seq: checkpoint.seq,
    hash: checkpoint.hash,
    closed: checkpoint.open.length === 0 && checkpoint.openOverflow !== true,
  };
}

/**
 * How long the reaper keeps reading a recording that is not closed, after its first check,
 * before it seals what arrived as not closed: the bastion went before its recorder could close
 * the recording (killed, or its shutdown outran the agent's last flush).
 */
export const RECORDING_SEAL_DEADLINE_MS = 5 * 60_000;

/** A connection the recorder closed for inactivity, as its end chunk says. */
export interface IdleEnd {
  sessionId: string;
  connection: string;
}

/** An end chunk is a few hundred bytes; a log event may be 256 KB, so anything long is not one. */
const MAX_END_LINE = 1024;

/**
 * The recorder's idle end chunk in one log line (ec2: as the bastion log group's subscription
 * delivers it), or undefined unless the line is exactly one well-formed end chunk with reason
 * idle whose hash holds. Whether it came from the session's own stream is the caller's check.
 */
export function parseIdleEnd(line: string): IdleEnd | undefined {
  if (typeof line !== 'string' || line.length > MAX_END_LINE) return undefined;
  const [chunk] = parseChunks([line]);
  if (chunk?.kind !== 'end' || chunk.reason !== 'idle' || chunkHash(chunk) !== chunk.hash)
    return undefined;
  return { sessionId: chunk.sid, connection: chunk.conn };
}
