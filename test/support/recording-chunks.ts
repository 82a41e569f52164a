import { GENESIS_HASH } from '../../lib/domain/audit.ts';
import { type RecordingChunk, sealChunk } from '../../lib/domain/recording-chain.ts';

/** A chunk's own fields (kind, at, events, …); `conn` defaults to c1. */
export type ChunkBody = Record<string, unknown> & { conn?: string };

/**
 * Chunks linked as the recorder links them: each body sealed with the next seq and the hash of
 * the chunk before it, one chain across the session's connections.
 */
export function linkChunks(sid: string, bodies: readonly ChunkBody[]): RecordingChunk[] {
  const out: RecordingChunk[] = [];
  for (const { conn = 'c1', ...body } of bodies) {
    const unsealed = { v: 1, sid, seq: out.length + 1, prev: out.at(-1)?.hash ?? GENESIS_HASH };
    out.push(
      sealChunk({ ...unsealed, conn, ...body } as Omit<RecordingChunk, 'hash'>) as RecordingChunk,
    );
  }
  return out;
}
