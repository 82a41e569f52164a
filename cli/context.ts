import { ApiClient } from './api-client.ts';
import { type Paths, resolveApiTarget, resolvePaths } from './config.ts';
import type { Io } from './io.ts';

export type OptionValue = string | boolean | (string | boolean)[] | undefined;

/** What a command gets: its parsed flags, the io, and the API client once it asks for one. */
export class Context {
  readonly io: Io;
  readonly positionals: string[];
  readonly json: boolean;
  readonly paths: Paths;
  private readonly values: Record<string, OptionValue>;

  constructor(io: Io, values: Record<string, OptionValue>, positionals: string[]) {
    this.io = io;
    this.values = values;
    this.positionals = positionals;
    this.json = values.json === true;
    this.paths = resolvePaths(io, this.string('data-dir'));
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  get fetch(): typeof fetch {
    return this.io.fetch ?? globalThis.fetch;
  }

  /** Resolves URL and token (flags > environment > config file > local.json) on first use. */
  async client(): Promise<ApiClient> {
    const target = await resolveApiTarget(this.io, {
      api: this.string('api'),
      token: this.string('token'),
      'data-dir': this.string('data-dir'),
    });
    return new ApiClient({ ...target, fetch: this.fetch });
  }

  out(text: string): void {
    this.io.stdout(text);
  }

  err(text: string): void {
    this.io.stderr(text);
  }
}
