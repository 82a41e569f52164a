import type {
  CloudWatchLogsClient,
  FilteredLogEvent,
  FilterLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import { isSessionId, type Session } from '../domain/session.ts';
import type {
  RecordingReader,
  RecordingStep,
  StoredRecording,
  TerminalOutput,
} from '../ports/recording-reader.ts';
import { isNotFound } from './aws-errors.ts';
import { loadLogsSdk } from './logs-sdk.ts';

export interface CloudWatchRecordingReaderOptions {
  /** a client, or how to make one on first use (lib/aws/logs-sdk.ts: no SDK at cold start) */
  logs: CloudWatchLogsClient | (() => Promise<CloudWatchLogsClient>);
  /** /drawbridge/<stage>/sessions: the bastion ships its sshd log and the recorder's sink to the stream named after its instance id */
  bastionLogGroup: string;
  /** /drawbridge/<stage>/ssm-sessions: Session Manager streams each shell session's output there */
  ssmLogGroup?: string;
  /**
   * bound on pages read per request (each at most 1 MB or 10,000 events): a read that reaches
   * it with more to come says so (StoredRecording.partial). Not higher by default: a GET of the
   * recording must answer within API Gateway's 30 s and Lambda's 6 MB response anyway.
   */
  maxPages?: number;
  /** how long after the release the last chunks may still arrive (default RECORDING_LATE_ARRIVAL_MS) */
  lateArrivalMs?: number;
}

/**
 * The agent ships the recorder's file every 5 s (force_flush_interval, lib/aws/cloud-config.ts),
 * and a terminated instance first shuts down, its recorders writing the end chunks of the
 * connections the shutdown cuts: half a minute covers several flushes and the shutdown.
 */
export const RECORDING_LATE_ARRIVAL_MS = 30_000;

/**
 * ec2: the recorder's chunk lines, filtered out of the bastion's stream (which also carries
 * the sshd log) by the session id they carry. ssm: Session Manager's own log of the grant's
 * shell sessions, whose streams are named after the Session Manager session, itself named
 * `<role session name>-<suffix>`, and the grant's role session name is the Drawbridge id.
 */
export class CloudWatchRecordingReader implements RecordingReader {
  readonly #logs: CloudWatchLogsClient | (() => Promise<CloudWatchLogsClient>);
  readonly #bastionGroup: string;
  readonly #ssmGroup: string | undefined;
  readonly #maxPages: number;
  readonly lateArrivalMs: number;

  constructor(options: CloudWatchRecordingReaderOptions) {
    this.#logs = options.logs;
    this.#bastionGroup = options.bastionLogGroup;
    this.#ssmGroup = options.ssmLogGroup;
    this.#maxPages = Math.max(1, options.maxPages ?? 50);
    this.lateArrivalMs = options.lateArrivalMs ?? RECORDING_LATE_ARRIVAL_MS;
  }

  async read(session: Session): Promise<StoredRecording> {
    if (!isSessionId(session.id)) return { kind: 'chunks', lines: [], partial: false };
    if (session.mode === 'ssm') {
      if (!this.#ssmGroup) return { kind: 'terminal', output: [], partial: false };
      const { events, partial } = await this.#filter({
        logGroupName: this.#ssmGroup,
        logStreamNamePrefix: `${session.id}-`,
      });
      return { kind: 'terminal', output: events.flatMap(ssmOutput), partial };
    }
    const { lines, partial } = await this.readChunks(session);
    return { kind: 'chunks', lines: lines.map((entry) => entry.line), partial };
  }

  async readChunks(session: Session, from?: number): Promise<RecordingStep> {
    const stream = session.resources.instanceId;
    if (!isSessionId(session.id) || session.mode === 'ssm' || !stream)
      return { lines: [], partial: false };
    const { events, partial } = await this.#filter({
      logGroupName: this.#bastionGroup,
      logStreamNames: [stream],
      // JSON filter: only the recorder's lines for this session, not the sshd log around them.
      filterPattern: `{ $.sid = "${session.id}" }`,
      // Inclusive: the lines filed in the same millisecond as the last one read come again,
      // and the caller skips those it has (advanceChain).
      ...(from !== undefined ? { startTime: from } : {}),
    });
    return {
      lines: events.map((event) => ({ at: event.timestamp ?? 0, line: event.message ?? '' })),
      partial,
    };
  }

  /** partial: the page bound was reached while CloudWatch still had a next page to give. */
  async #filter(
    input: FilterLogEventsCommandInput,
  ): Promise<{ events: FilteredLogEvent[]; partial: boolean }> {
    const events: FilteredLogEvent[] = [];
    const [{ FilterLogEventsCommand }, logs] = await Promise.all([
      loadLogsSdk(),
      typeof this.#logs === 'function' ? this.#logs() : this.#logs,
    ]);
    let token: string | undefined;
    for (let page = 0; page < this.#maxPages; page += 1) {
      try {
        const response = await logs.send(
          new FilterLogEventsCommand({ ...input, ...(token ? { nextToken: token } : {}) }),
        );
        events.push(...(response.events ?? []));
        token = response.nextToken;
      } catch (error) {
        // No stream or group yet: nothing was shipped. Gone after a first page (deleted while
        // being read): what was read is not the whole of anything.
        if (isNotFound(error)) return { events, partial: page > 0 };
        throw error;
      }
      if (!token) return { events, partial: false };
    }
    return { events, partial: true };
  }
}

/**
 * Session Manager streaming writes one JSON event per batch of output lines
 * (`sessionData`); a session logged only at its end is plain text.
 */
function ssmOutput(event: FilteredLogEvent): TerminalOutput[] {
  const at = event.timestamp ?? 0;
  const message = event.message ?? '';
  try {
    const parsed: unknown = JSON.parse(message);
    if (parsed && typeof parsed === 'object' && 'sessionData' in parsed) {
      const { sessionData } = parsed as { sessionData: unknown };
      if (Array.isArray(sessionData)) {
        return sessionData
          .filter((line): line is string => typeof line === 'string')
          .map((text) => ({ at, text }));
      }
    }
  } catch {
    // plain text
  }
  return [{ at, text: message }];
}
