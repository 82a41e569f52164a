import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSessionId, type Session } from '../domain/session.ts';
import { type ConnectionRecord, parseSshdLine } from '../domain/sshd-log.ts';
import type { SessionLog } from '../ports/session-log.ts';

/** How far ahead in the times file a log line is looked for (lines seen while we were down have none). */
const LOOKAHEAD = 64;

/**
 * Local mode: the session's sshd.log in the data directory. `sshd -e` writes no timestamps, so
 * local mode stamps each line as it follows the log (stamp) into sshd.times beside it, and the
 * two are matched line by line when read; a line written while Drawbridge was down has no time.
 */
export class FileSessionLog implements SessionLog {
  private readonly dataDir: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  private file(sessionId: string, name: string): string {
    return join(this.dataDir, 'sessions', sessionId, name);
  }

  /** Records when a line of the session's sshd log was seen (appends stay in order). */
  stamp(sessionId: string, line: string, at: number): Promise<void> {
    if (!isSessionId(sessionId) || /[\r\n]/.test(line)) return this.writing;
    this.writing = this.writing
      .then(() =>
        appendFile(this.file(sessionId, 'sshd.times'), `${at} ${line}\n`, { mode: 0o600 }),
      )
      .catch(() => undefined);
    return this.writing;
  }

  async connections(session: Session): Promise<ConnectionRecord[]> {
    if (!isSessionId(session.id)) return [];
    let text: string;
    try {
      text = await readFile(this.file(session.id, 'sshd.log'), 'utf8');
    } catch {
      return [];
    }
    const times = (await readFile(this.file(session.id, 'sshd.times'), 'utf8').catch(() => ''))
      .split('\n')
      .flatMap((entry) => {
        const match = /^(\d{1,15}) (.*)$/.exec(entry);
        return match ? [{ at: Number(match[1]), line: match[2] ?? '' }] : [];
      });
    let next = 0;
    // sshd -e ends its lines with \r\n; the tail that stamps them hands them over without.
    return text.split(/\r?\n/).flatMap((line) => {
      let at: number | undefined;
      const limit = Math.min(times.length, next + LOOKAHEAD);
      for (let index = next; index < limit; index += 1) {
        if (times[index]?.line === line) {
          at = times[index]?.at;
          next = index + 1;
          break;
        }
      }
      return parseSshdLine(line, at) ?? [];
    });
  }
}
