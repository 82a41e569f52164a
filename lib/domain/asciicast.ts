import type { RecordingChunk } from './recording-chain.ts';

/**
 * A session's recording as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a
 * header line, then one `[seconds, code, data]` line per event, seconds since the first
 * connection started. A later connection of the same session starts with a marker (`m`), so
 * one file plays the whole session in any asciinema-compatible player.
 */
export function toAsciicast(sessionId: string, chunks: readonly RecordingChunk[]): string {
  const starts = chunks.filter((chunk) => chunk.kind === 'start');
  const first = starts[0];
  const origin = first?.at ?? 0;
  const header = {
    version: 2,
    width: first?.width ?? 80,
    height: first?.height ?? 24,
    timestamp: Math.floor(origin / 1000),
    title: `drawbridge session ${sessionId}`,
  };
  const seconds = (at: number): number => Math.max(0, at - origin) / 1000;
  const lines = [JSON.stringify(header)];
  let connection = 0;
  for (const chunk of chunks) {
    if (chunk.kind === 'start') {
      connection += 1;
      if (connection > 1) {
        lines.push(JSON.stringify([seconds(chunk.at), 'm', `connection ${connection}`]));
        lines.push(JSON.stringify([seconds(chunk.at), 'r', `${chunk.width}x${chunk.height}`]));
      }
    } else if (chunk.kind === 'data') {
      for (const [at, code, data] of chunk.events)
        lines.push(JSON.stringify([seconds(at), code, data]));
    } else {
      lines.push(JSON.stringify([seconds(chunk.at), 'm', `connection closed: ${chunk.reason}`]));
    }
  }
  return `${lines.join('\n')}\n`;
}

// CSI, OSC (ended by BEL or ST) and two-byte escapes: what a terminal draws but grep cannot
// read; then the rest of C0 except tab and newline. Built from strings: the characters are the point.
const ESC = String.fromCharCode(0x1b);
const BEL = String.fromCharCode(0x07);
const ESCAPES = new RegExp(
  `${ESC}\\[[0-?]*[ -/]*[@-~]|${ESC}\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)|${ESC}[@-Z\\\\-_]`,
  'g',
);
const CONTROLS = new RegExp(
  `[${String.fromCharCode(0)}-${String.fromCharCode(8)}${String.fromCharCode(11)}-${String.fromCharCode(0x1f)}${String.fromCharCode(0x7f)}]`,
  'g',
);

/**
 * Plain text for grep: the output with terminal escapes removed, one line per output line,
 * each stamped with the UTC time its first character was written; input (`>`) and
 * connection events (`#`) on lines of their own.
 */
export function toText(chunks: readonly RecordingChunk[]): string {
  const out: string[] = [];
  let line = '';
  let lineAt: number | undefined;
  const stamp = (at: number): string => new Date(at).toISOString();
  const flush = (): void => {
    if (lineAt !== undefined) out.push(`${stamp(lineAt)}  ${line}`);
    line = '';
    lineAt = undefined;
  };
  for (const chunk of chunks) {
    if (chunk.kind === 'start') {
      flush();
      out.push(
        `${stamp(chunk.at)} # connection opened by ${chunk.user} (${chunk.width}x${chunk.height})`,
      );
    } else if (chunk.kind === 'end') {
      flush();
      out.push(`${stamp(chunk.at)} # connection closed: ${chunk.reason}`);
    } else {
      for (const [at, code, data] of chunk.events) {
        if (code === 'o') {
          const text = data.replace(ESCAPES, '').replace(/\r\n/g, '\n').replace(/\r/g, '\n');
          for (const [index, part] of text.split('\n').entries()) {
            if (index > 0) flush();
            const clean = part.replace(CONTROLS, '');
            if (clean !== '' && lineAt === undefined) lineAt = at;
            line += clean;
          }
        } else if (code === 'i') {
          out.push(`${stamp(at)} > ${JSON.stringify(data)}`);
        } else if (code === 'm') {
          out.push(`${stamp(at)} # ${data}`);
        }
      }
    }
  }
  flush();
  return out.length ? `${out.join('\n')}\n` : '';
}
