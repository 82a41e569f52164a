import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import type { Session } from '../domain/session.ts';
import { type ConnectionRecord, parseSshdLine } from '../domain/sshd-log.ts';
import type { SessionLog } from '../ports/session-log.ts';
import { isNotFound } from './aws-errors.ts';

export interface CloudWatchSessionLogOptions {
  logs: CloudWatchLogsClient;
  /** /drawbridge/<stage>/sessions; each bastion writes the stream named after its instance id */
  logGroupName: string;
  /** bound on pages read per request, so one chatty session cannot stall the API */
  maxPages?: number;
}

/** ec2 mode: the bastion's sshd log, shipped by the CloudWatch agent to the session's stream. */
export class CloudWatchSessionLog implements SessionLog {
  readonly #logs: CloudWatchLogsClient;
  readonly #group: string;
  readonly #maxPages: number;

  constructor(options: CloudWatchSessionLogOptions) {
    this.#logs = options.logs;
    this.#group = options.logGroupName;
    this.#maxPages = options.maxPages ?? 5;
  }

  async connections(session: Session): Promise<ConnectionRecord[]> {
    const records: ConnectionRecord[] = [];
    // The agent's {instance_id} stream (cloud-config.ts): only the session's own instance
    // writes there. No instance recorded yet: nothing can have been shipped.
    const stream = session.resources.instanceId;
    if (!stream) return records;
    let token: string | undefined;
    for (let page = 0; page < this.#maxPages; page += 1) {
      let response: GetLogEventsCommandOutput;
      try {
        response = await this.#logs.send(
          new GetLogEventsCommand({
            logGroupName: this.#group,
            logStreamName: stream,
            startFromHead: true,
            limit: 1000,
            ...(token ? { nextToken: token } : {}),
          }),
        );
      } catch (error) {
        // No stream yet: the bastion has not shipped anything (or never booted).
        if (isNotFound(error)) return records;
        throw error;
      }
      for (const event of response.events ?? []) {
        const record = event.message
          ? parseSshdLine(event.message.trimEnd(), event.timestamp)
          : undefined;
        if (record) records.push(record);
      }
      // GetLogEvents returns the same forward token when there is nothing more.
      if (!response.nextForwardToken || response.nextForwardToken === token) break;
      token = response.nextForwardToken;
    }
    return records;
  }
}
