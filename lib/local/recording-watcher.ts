import { type FSWatcher, watch } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseChunks } from '../domain/recording-chain.ts';
import { isSessionId } from '../domain/session.ts';

/**
 * Local mode's reader of the recordings the recorder appends: it notices the end chunks that
 * say a connection was closed for inactivity, and hands them on (lib/app/idle.ts). On ec2
 * the same chunk lands in the bastion's log stream instead.
 */
export class RecordingWatcher {
  readonly #dir: string;
  readonly #onIdle: (sessionId: string, connection: string) => void;
  readonly #offsets = new Map<string, number>();
  readonly #partial = new Map<string, string>();
  #watcher: FSWatcher | undefined;
  #scanning: Promise<void> = Promise.resolve();

  constructor(dir: string, onIdle: (sessionId: string, connection: string) => void) {
    this.#dir = dir;
    this.#onIdle = onIdle;
  }

  /** Skips what is already there (seen before a restart), then follows the directory. */
  async start(): Promise<void> {
    for (const name of await this.#names()) {
      const handle = await open(join(this.#dir, name), 'r').catch(() => undefined);
      if (!handle) continue;
      this.#offsets.set(name, (await handle.stat()).size);
      await handle.close();
    }
    try {
      this.#watcher = watch(this.#dir, { persistent: false }, () => void this.scan());
      this.#watcher.on('error', () => this.#watcher?.close());
    } catch {
      // No directory yet, or no inotify: scan() still works when called.
    }
  }

  stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  /** Reads whatever was appended since the last scan; scans never overlap. */
  scan(): Promise<void> {
    this.#scanning = this.#scanning.then(() => this.#scanOnce()).catch(() => undefined);
    return this.#scanning;
  }

  async #names(): Promise<string[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    return names.filter((name) => name.endsWith('.jsonl') && isSessionId(name.slice(0, -6)));
  }

  async #scanOnce(): Promise<void> {
    for (const name of await this.#names()) {
      const sessionId = name.slice(0, -6);
      const handle = await open(join(this.#dir, name), 'r').catch(() => undefined);
      if (!handle) continue;
      try {
        const offset = this.#offsets.get(name) ?? 0;
        const { size } = await handle.stat();
        if (size <= offset) continue;
        const buffer = Buffer.alloc(size - offset);
        await handle.read(buffer, 0, buffer.length, offset);
        this.#offsets.set(name, size);
        const text = (this.#partial.get(name) ?? '') + buffer.toString('utf8');
        const lines = text.split('\n');
        this.#partial.set(name, lines.pop() ?? '');
        for (const chunk of parseChunks(lines)) {
          if (chunk?.kind === 'end' && chunk.reason === 'idle' && chunk.sid === sessionId) {
            this.#onIdle(sessionId, chunk.conn);
          }
        }
      } finally {
        await handle.close();
      }
    }
  }
}
