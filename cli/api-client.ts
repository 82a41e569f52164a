import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod/mini';
import { SESSION_ID_PATTERN } from '../lib/domain/session.ts';
import { SSH_HOST, SSH_USER } from '../lib/domain/ssh-config.ts';
import { type FieldFlags, inCliWords } from './api-words.ts';
import { ApiError, CliError, ExitCode, NetworkError } from './errors.ts';
import { clean } from './format.ts';

// The CLI reads what it needs and lets the rest through: a newer API may add fields (or
// statuses) without breaking older clients. The id is checked strictly because it becomes
// part of a file path (the session's key directory) and of URLs.
// The bastion's user and host and the target's host go into ssh's argument list: a value
// that began with '-' would be read as an option (-oProxyCommand=…), so only a Linux user
// name and a DNS name or IP address get through, whatever the API says.
const sshHost = z.string().check(z.regex(SSH_HOST, 'is not a host name or address'));
const sshPort = z.int().check(z.minimum(1), z.maximum(65_535));
// The API's ~/.ssh/config text is dropped here: the CLI builds the block itself from these
// checked fields (cli/ssh.ts), so no command can print or pass on text it did not build.
const Connection = z.pipe(
  z.looseObject({
    bastion: z.looseObject({
      host: sshHost,
      port: sshPort,
      user: z.string().check(z.regex(SSH_USER, 'is not a user name')),
    }),
    hostKeyFingerprint: z.optional(z.string()),
    hostKey: z.optional(z.string()),
    knownHosts: z.optional(z.string()),
    target: z.looseObject({ host: sshHost, port: sshPort }),
    /** a recorded session: a shell on the bastion (sshShell), no jump or forward */
    recorded: z.optional(z.boolean()),
    sshShell: z.optional(z.string()),
    sshJump: z.optional(z.string()),
    sshForward: z.optional(z.string()),
    sshConfig: z.optional(z.string()),
  }),
  z.transform(({ sshConfig: _fromApi, ...checked }) => checked),
);
export type Connection = z.infer<typeof Connection>;

export const SessionView = z.looseObject({
  id: z.string().check(z.regex(SESSION_ID_PATTERN, 'is not a session id')),
  status: z.string(),
  target: z.string(),
  mode: z.string(),
  owner: z.string(),
  sourceCidr: z.string(),
  reason: z.string(),
  durationMinutes: z.number(),
  createdAt: z.string(),
  provisioningDeadline: z.optional(z.string()),
  readyAt: z.optional(z.string()),
  timeToReady: z.optional(
    z.looseObject({
      launch: z.optional(z.number()),
      running: z.optional(z.number()),
      ready: z.optional(z.number()),
      total: z.optional(z.number()),
    }),
  ),
  expiresAt: z.optional(z.string()),
  endedAt: z.optional(z.string()),
  endReason: z.optional(z.string()),
  failureReason: z.optional(z.string()),
  /** full: the terminal is recorded; metadata: connections and forwards only */
  recording: z.optional(z.string()),
  recordingPolicy: z.optional(
    z.looseObject({
      mode: z.string(),
      input: z.optional(z.boolean()),
      idleTimeoutMinutes: z.optional(z.number()),
      idleEndsSession: z.optional(z.boolean()),
    }),
  ),
  connection: z.optional(Connection),
});
export type SessionView = z.infer<typeof SessionView>;

export const SessionPage = z.looseObject({
  items: z.array(SessionView),
  cursor: z.optional(z.string()),
});
export type SessionPage = z.infer<typeof SessionPage>;

export const EventView = z.looseObject({
  seq: z.number(),
  at: z.string(),
  type: z.string(),
  actor: z.string(),
  status: z.string(),
  detail: z.optional(z.record(z.string(), z.unknown())),
  prevHash: z.optional(z.string()),
  hash: z.optional(z.string()),
});
export type EventView = z.infer<typeof EventView>;
/** One line of the bastion's sshd log: who connected, from where, what was refused. */
export const ConnectionEntry = z.looseObject({
  kind: z.string(),
  at: z.optional(z.string()),
  address: z.string(),
  port: z.number(),
  user: z.optional(z.string()),
  target: z.optional(z.string()),
  key: z.optional(z.string()),
});
export type ConnectionEntry = z.infer<typeof ConnectionEntry>;
export const EventPage = z.looseObject({
  items: z.array(EventView),
  connections: z.optional(z.array(ConnectionEntry)),
});

const ErrorBody = z.looseObject({
  error: z.looseObject({ code: z.string(), message: z.string() }),
});

// The API's own list: a status the server adds is one the CLI knows (PENDING_APPROVAL was not).
export { SessionStatus } from '../lib/domain/session.ts';

const REQUEST_TIMEOUT_MS = 30_000;
/** Statuses API Gateway and load balancers answer when the request may never have arrived. */
const RETRYABLE_STATUSES = new Set([502, 503, 504]);

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** extra attempts after a network failure or a 502/503/504 (only for idempotent requests) */
  retries?: number;
  /** the command's flags for the body's fields, so a 400 speaks in them (cli/api-words.ts) */
  flags?: FieldFlags;
}

export interface ApiClientOptions {
  url: string;
  token: string;
  fetch: typeof fetch;
  /** pause between retries; tests pass 0 */
  retryDelayMs?: number;
}

export class ApiClient {
  readonly url: string;
  private readonly token: string;
  private readonly fetchFn: typeof fetch;
  private readonly retryDelayMs: number;

  constructor(options: ApiClientOptions) {
    this.url = options.url;
    this.token = options.token;
    this.fetchFn = options.fetch;
    this.retryDelayMs = options.retryDelayMs ?? 500;
  }

  async request<S extends z.ZodMiniType>(
    method: string,
    path: string,
    schema: S,
    options: RequestOptions = {},
  ): Promise<{ status: number; data: z.infer<S> }> {
    return this.retrying(options.retries, () => this.once(method, path, schema, options));
  }

  /**
   * A GET whose answer is not JSON (a recording): the body as text and the response headers.
   * Errors are the API's JSON errors, as for request().
   */
  text(
    path: string,
    options: { accept: string; retries?: number },
  ): Promise<{ status: number; body: string; headers: Headers }> {
    return this.retrying(options.retries, async () => {
      const { response, text } = await this.send('GET', path, {
        headers: { accept: options.accept },
      });
      return { status: response.status, body: text, headers: response.headers };
    });
  }

  /** `attempt` again after a network failure or a 502/503/504, `retries` times at most. */
  private async retrying<T>(retries: number | undefined, attempt: () => Promise<T>): Promise<T> {
    for (let done = 0; ; done += 1) {
      try {
        return await attempt();
      } catch (error) {
        const transient =
          error instanceof NetworkError ||
          (error instanceof ApiError && RETRYABLE_STATUSES.has(error.status));
        if (!transient || done >= (retries ?? 0)) throw error;
        await sleep(this.retryDelayMs * (done + 1));
      }
    }
  }

  private async once<S extends z.ZodMiniType>(
    method: string,
    path: string,
    schema: S,
    options: RequestOptions,
  ): Promise<{ status: number; data: z.infer<S> }> {
    const { response, json } = await this.send(method, path, options);
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new CliError(
        `${method} ${path} answered something this drawbridge does not understand (HTTP ${response.status}); is ${this.url} a Drawbridge API?`,
        ExitCode.unexpected,
        'bad_response',
      );
    }
    return { status: response.status, data: parsed.data };
  }

  /** One request; a non-2xx answer becomes an ApiError in the CLI's words. */
  private async send(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<{ response: Response; text: string; json: unknown }> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
      ...options.headers,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(`${this.url}${path}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      throw new NetworkError(describeNetworkError(this.url, error));
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const parsed = ErrorBody.safeParse(json);
      if (parsed.success) {
        const { code, message } = parsed.data.error;
        const words =
          response.status === 400 && options.flags ? inCliWords(message, options.flags) : message;
        throw new ApiError(response.status, clean(code, 64), clean(words, 500));
      }
      throw new ApiError(
        response.status,
        'http_error',
        `${method} ${path} answered HTTP ${response.status} without an error body`,
      );
    }
    return { response, text, json };
  }
}

function describeNetworkError(url: string, error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return `no answer from ${url} within ${REQUEST_TIMEOUT_MS / 1000}s`;
  }
  const cause =
    error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  const code = cause?.code ?? (error as NodeJS.ErrnoException | undefined)?.code;
  const what =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND'
        ? 'host not found'
        : code
          ? code
          : error instanceof Error
            ? clean(error.message, 200)
            : 'request failed';
  const local = /^https?:\/\/(127\.|localhost|\[::1\])/.test(url);
  return `cannot reach ${url}: ${what}${local && code === 'ECONNREFUSED' ? ' (is local mode running? start it with npm start)' : ''}`;
}
