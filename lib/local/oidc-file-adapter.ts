import { randomUUID } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** epoch ms; null for entries without an expiry */
  expiresAt: number | null;
}

/** Models whose entries belong to a grant: revoking the grant removes them all. */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

/**
 * The provider's state (sessions, grants, refresh tokens, device codes, interactions) in one
 * JSON file of the data directory, so that a restart of `npm start` keeps everyone signed in.
 * Local mode is one process with a handful of users: the whole state is rewritten on each
 * change (to a private temporary name, then renamed, so a crash never leaves half a file).
 */
export class OidcFileStore {
  private readonly file: string;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();

  constructor(directory: string, now: () => number = Date.now) {
    this.file = join(directory, 'state.json');
    this.now = now;
    let text: string | undefined;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === undefined) return;
    let saved: unknown;
    try {
      saved = JSON.parse(text);
    } catch {
      // A damaged state file signs everyone out; it does not stop local mode.
      saved = {};
    }
    if (saved && typeof saved === 'object') {
      for (const [key, entry] of Object.entries(saved as Record<string, Entry>)) {
        if (entry && typeof entry === 'object' && entry.payload) this.entries.set(key, entry);
      }
    }
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private save(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.entries.delete(key);
    }
    const staging = `${this.file}.${randomUUID()}.tmp`;
    try {
      writeFileSync(staging, JSON.stringify(Object.fromEntries(this.entries)), {
        mode: 0o600,
        flag: 'wx',
      });
      chmodSync(staging, 0o600);
      renameSync(staging, this.file);
    } catch (error) {
      rmSync(staging, { force: true });
      throw error;
    }
  }

  adapter(model: string): Adapter {
    const key = (id: string) => `${model}:${id}`;
    const find = (id: string): AdapterPayload | undefined => this.live(key(id))?.payload;
    const findBy = (field: 'uid' | 'userCode', value: string): AdapterPayload | undefined => {
      for (const [name] of this.entries) {
        if (!name.startsWith(`${model}:`)) continue;
        const entry = this.live(name);
        if (entry?.payload[field] === value) return entry.payload;
      }
      return undefined;
    };
    return {
      upsert: async (id, payload, expiresIn) => {
        this.entries.set(key(id), {
          payload,
          expiresAt: typeof expiresIn === 'number' ? this.now() + expiresIn * 1000 : null,
        });
        this.save();
      },
      find: async (id) => find(id),
      findByUid: async (uid) => findBy('uid', uid),
      findByUserCode: async (userCode) => findBy('userCode', userCode),
      consume: async (id) => {
        const entry = this.live(key(id));
        if (!entry) return;
        entry.payload = { ...entry.payload, consumed: Math.floor(this.now() / 1000) };
        this.save();
      },
      destroy: async (id) => {
        this.entries.delete(key(id));
        this.save();
      },
      revokeByGrantId: async (grantId) => {
        for (const [name, entry] of this.entries) {
          const kind = name.slice(0, name.indexOf(':'));
          if (GRANTABLE.has(kind) && entry.payload.grantId === grantId) this.entries.delete(name);
        }
        this.save();
      },
    };
  }
}
