import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainHead } from '../domain/recording-chain.ts';
import { isSessionId, type Session } from '../domain/session.ts';
import type { RecordingReader, RecordingStep, StoredRecording } from '../ports/recording-reader.ts';

/** The recorder the ec2 bastion bakes in, run here from the repository: one recorder for both. */
export const RECORDER_PATH = fileURLToPath(
  new URL('../../bastion/drawbridge-record', import.meta.url),
);

/** The interpreter the recorder's shebang names, else the first python3 on the given PATH. */
export function findPython(searchPath = ''): string | undefined {
  const candidates = [
    '/usr/bin/python3',
    ...searchPath
      .split(delimiter)
      .filter((dir) => isAbsolute(dir))
      .map((dir) => join(dir, 'python3')),
  ];
  return candidates.find((path) => existsSync(path));
}

/**
 * Local mode's log store for recordings: <dataDir>/recordings/<id>.jsonl, appended by the
 * recorder chunk by chunk (the file the CloudWatch agent would ship on ec2), `<id>.jsonl.head`
 * its running head (the recorder keeps it under a lock), and `<id>.sealed` the head copied when
 * the bastion is released: the local sink's own record. The session item's recordingHead,
 * read from the chunks when the session ends, is the authority verify checks against.
 */
export class FileRecordingStore implements RecordingReader {
  readonly dir: string;
  /** the recorder writes this file itself: once its bastion is released, nothing is on its way */
  readonly lateArrivalMs = 0;
  constructor(dataDir: string) {
    this.dir = join(dataDir, 'recordings');
  }

  sinkPath(sessionId: string): string {
    return join(this.dir, `${sessionId}.jsonl`);
  }

  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Called once the bastion is gone: nothing can append after this. */
  async seal(sessionId: string): Promise<void> {
    if (!isSessionId(sessionId)) return;
    const sink = this.sinkPath(sessionId);
    if (!existsSync(`${sink}.head`)) return;
    await copyFile(`${sink}.head`, join(this.dir, `${sessionId}.sealed`)).catch(() => undefined);
  }

  async lines(sessionId: string): Promise<string[]> {
    if (!isSessionId(sessionId)) return [];
    try {
      return (await readFile(this.sinkPath(sessionId), 'utf8')).split('\n');
    } catch {
      return [];
    }
  }

  async read(session: Session): Promise<StoredRecording> {
    // The whole file, always: there is no page bound here.
    return { kind: 'chunks', lines: await this.lines(session.id), partial: false };
  }

  /** The whole file in one step: it keeps no times, so every line is filed at 0. */
  async readChunks(session: Session): Promise<RecordingStep> {
    const lines = await this.lines(session.id);
    return { lines: lines.map((line) => ({ at: 0, line })), partial: false };
  }

  /** The head sealed when the bastion was released. */
  sealedHead(sessionId: string): Promise<ChainHead | undefined> {
    if (!isSessionId(sessionId)) return Promise.resolve(undefined);
    return readHead(join(this.dir, `${sessionId}.sealed`));
  }
}

async function readHead(path: string): Promise<ChainHead | undefined> {
  try {
    const [seq, hash] = (await readFile(path, 'utf8')).trim().split(' ');
    const parsed = Number(seq);
    return Number.isInteger(parsed) && parsed > 0 && hash && /^[0-9a-f]{64}$/.test(hash)
      ? { seq: parsed, hash }
      : undefined;
  } catch {
    return undefined;
  }
}
