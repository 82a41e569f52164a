import { toAsciicast, toText } from './asciicast.ts';
import type { AuditEvent } from './audit.ts';
import {
  type ChainHead,
  parseChunks,
  type RecordingChunk,
  type RecordingVerdict,
  verifyRecording,
  verifyRecordingPrefix,
} from './recording-chain.ts';
import { isLive, type Session } from './session.ts';
import type { ConnectionRecord } from './sshd-log.ts';

export const RECORDING_FORMATS = ['asciicast', 'text'] as const;
export type RecordingFormat = (typeof RECORDING_FORMATS)[number];

/**
 * What a session kept of what happened in it, whichever mode it ran in. `partial`: only the
 * beginning of what is stored could be read (lib/ports/recording-reader.ts).
 */
export type SessionRecordingSource =
  /** the Drawbridge recorder's hash-chained chunks (recording: full, ec2 and local) */
  | { kind: 'chunks'; lines: readonly string[]; head?: ChainHead; partial?: boolean }
  /** Session Manager's own log of an ssm shell */
  | { kind: 'terminal'; output: readonly { at: number; text: string }[]; partial?: boolean }
  /** jump-only: the connections and forwards from the bastion's sshd log */
  | { kind: 'connections'; records: readonly ConnectionRecord[] };

export interface RenderedRecording {
  kind: SessionRecordingSource['kind'];
  body: string;
  /** chunks only: whether the chain holds, against the head the session stored */
  verdict?: RecordingVerdict;
  /** the body is only the recording's beginning: the rest could not be read in one request */
  partial: boolean;
}

/**
 * The recorder's chunks, checked; chunks that are not chunks are left out of what is played.
 * A partial read is checked as far as it goes and never called intact.
 */
export function chunkRecording(
  sessionId: string,
  lines: readonly string[],
  head?: ChainHead,
  partial = false,
): { chunks: RecordingChunk[]; verdict: RecordingVerdict } {
  const parsed = parseChunks(lines);
  return {
    chunks: parsed.filter((chunk): chunk is RecordingChunk => chunk?.sid === sessionId),
    verdict: partial
      ? verifyRecordingPrefix(sessionId, parsed)
      : verifyRecording(sessionId, parsed, head),
  };
}

const header = (sessionId: string, origin: number) =>
  JSON.stringify({
    version: 2,
    width: 80,
    height: 24,
    timestamp: Math.floor(origin / 1000),
    title: `drawbridge session ${sessionId}`,
  });

const iso = (at: number): string => new Date(at).toISOString();

/** One line per connection event: when, what, from where, to where. */
export function describeConnection(record: ConnectionRecord): string {
  const from = `${record.address} port ${record.port}`;
  switch (record.kind) {
    case 'connected':
      return `connection opened from ${from}`;
    case 'authenticated':
      return `${record.user ?? 'someone'} signed in from ${from}${record.key ? ` with key ${record.key}` : ''}`;
    case 'refused-forward':
      return `forward to ${record.target ?? 'an unknown address'} refused (from ${from})`;
    case 'auth-failed':
      return `sign-in refused from ${from}`;
    case 'disconnected':
      return `connection closed from ${from}`;
  }
}

/**
 * Renders what a session kept as asciicast v2 (for players) or plain text with UTC times (for
 * grep). Session Manager output and a jump-only session's connections become output lines,
 * so every mode replays the same way.
 */
export function renderRecording(
  sessionId: string,
  source: SessionRecordingSource,
  format: RecordingFormat,
): RenderedRecording {
  if (source.kind === 'chunks') {
    const partial = source.partial ?? false;
    const { chunks, verdict } = chunkRecording(sessionId, source.lines, source.head, partial);
    const body = format === 'text' ? toText(chunks) : toAsciicast(sessionId, chunks);
    return { kind: 'chunks', body, verdict, partial };
  }
  const partial = source.kind === 'terminal' && (source.partial ?? false);
  const lines =
    source.kind === 'terminal'
      ? source.output.map((entry) => ({ at: entry.at, text: entry.text }))
      : source.records.map((record) => ({
          at: record.at ?? 0,
          text: `# ${describeConnection(record)}`,
        }));
  if (format === 'text') {
    return {
      kind: source.kind,
      body: lines.map((line) => `${line.at ? iso(line.at) : '-'}  ${line.text}\n`).join(''),
      partial,
    };
  }
  const origin = lines.find((line) => line.at > 0)?.at ?? 0;
  const events = lines.map((line) =>
    JSON.stringify([Math.max(0, line.at - origin) / 1000, 'o', `${line.text}\r\n`]),
  );
  return {
    kind: source.kind,
    body: `${[header(sessionId, origin), ...events].join('\n')}\n`,
    partial,
  };
}

/**
 * A session that ended and settled without storing a head (sealed before a long recording could
 * be read to its end, or after nothing arrived by the deadline) has nothing to hold its
 * recording's end to: chunks appended or cut since are not detectable. Its chunks may link
 * perfectly and still not be the recording, so it is never intact; with none stored now where
 * the seal read some (its audit event says how many), they were removed.
 */
export function unsealedVerdict(
  session: Session,
  verdict: RecordingVerdict,
  trail: readonly AuditEvent[] = [],
): RecordingVerdict {
  if (!verdict.intact || session.recordingHead || session.recordingSettle) return verdict;
  if (isLive(session.status)) return verdict;
  if (verdict.chunks > 0) {
    return {
      ...verdict,
      intact: false,
      problem: 'unsealed',
      detail: `the session stored no head for its recording: its ${verdict.chunks} chunks link, but whether any were added or removed at its end cannot be checked`,
    };
  }
  const sealed = trail.findLast((event) => event.type === 'recording-sealed')?.detail;
  const read = Math.max(Number(sealed?.chunks ?? 0), Number(sealed?.chunksRead ?? 0));
  if (read > 0) {
    return {
      ...verdict,
      intact: false,
      problem: 'truncated',
      detail: `no chunk is stored, but the seal read ${read}: the recording was removed`,
    };
  }
  return verdict;
}
