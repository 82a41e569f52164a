// sshd's log: sshd writes it straight into <sessionDir>/sshd.log (its stderr is that file, so
// it neither blocks on a full pipe nor dies of SIGPIPE if Drawbridge restarts); LogTail follows
// the file to hand each line to onLog and to see when sshd is listening.
import { type FSWatcher, watch } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

const RECENT_LINES = 20;

export class LogTail {
  private offset: number;
  private readonly path: string;
  private readonly onLine: (line: string) => void;
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private reading: Promise<void> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  readonly recent: string[] = [];

  constructor(path: string, offset: number, onLine: (line: string) => void) {
    this.path = path;
    this.offset = offset;
    this.onLine = onLine;
  }

  start(): void {
    try {
      this.watcher = watch(this.path, { persistent: false }, () => void this.read());
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // Without a watcher, lines still arrive whenever read() is called (start-up, release).
    }
  }

  read(): Promise<void> {
    this.reading = this.reading.then(
      () => this.readNew(),
      () => this.readNew(),
    );
    return this.reading;
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    await this.read();
    if (this.partial) this.emit(this.partial);
    this.partial = '';
  }

  private async readNew(): Promise<void> {
    const handle = await open(this.path, 'r').catch(() => undefined);
    if (!handle) return;
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const lines = (this.partial + this.decoder.write(buffer.subarray(0, bytesRead))).split(
          '\n',
        );
        this.partial = lines.pop() ?? '';
        for (const line of lines) this.emit(line.replace(/\r$/, ''));
      }
    } finally {
      await handle.close();
    }
  }

  private emit(line: string): void {
    this.recent.push(line);
    if (this.recent.length > RECENT_LINES) this.recent.shift();
    try {
      this.onLine(line);
    } catch {
      // A failing log sink must not take the bastion's bookkeeping down with it.
    }
  }
}

/** The last few lines that say why sshd stopped, for the session's failure reason. */
export function gist(lines: readonly string[]): string {
  const text = lines
    .filter((line) => line.trim() !== '')
    .slice(-3)
    .join(' / ');
  return text ? `: ${text}`.slice(0, 240) : '';
}
