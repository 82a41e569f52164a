import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSessionId, type Session } from '../domain/session.ts';
import { type ConnectionRecord, parseSshdLine } from '../domain/sshd-log.ts';
import type { SessionLog } from '../ports/session-log.ts';

/** Local mode: the session's sshd.log in the data directory (sshd -e writes no timestamps). */
export class FileSessionLog implements SessionLog {
  private readonly dataDir: string;
  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  async connections(session: Session): Promise<ConnectionRecord[]> {
    if (!isSessionId(session.id)) return [];
    let text: string;
    try {
      text = await readFile(join(this.dataDir, 'sessions', session.id, 'sshd.log'), 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').flatMap((line) => parseSshdLine(line) ?? []);
  }
}
