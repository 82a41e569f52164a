import { gunzipSync, gzipSync } from 'node:zlib';
import * as z from 'zod/mini';
import { ValidationError } from '../domain/errors.ts';
import { safeParse } from '../domain/validation.ts';

/**
 * What a CloudWatch Logs subscription filter hands a Lambda function: `awslogs.data`, base64 of
 * a gzip of the JSON payload below. CloudWatch sends a CONTROL_MESSAGE when the filter is
 * created, to check that the destination is reachable; it carries no log events of ours.
 */
const LogsSubscriptionEvent = z.object({
  awslogs: z.object({ data: z.string().check(z.minLength(1), z.maxLength(2_000_000)) }),
});

const LogEvent = z.object({
  id: z.string(),
  timestamp: z.int().check(z.nonnegative()),
  message: z.string(),
});

export const LogsSubscriptionPayload = z.object({
  messageType: z.enum(['DATA_MESSAGE', 'CONTROL_MESSAGE']),
  owner: z.string(),
  logGroup: z.string().check(z.minLength(1)),
  logStream: z.string().check(z.minLength(1)),
  subscriptionFilters: z.array(z.string()),
  logEvents: z.array(LogEvent),
});
export type LogsSubscriptionPayload = z.infer<typeof LogsSubscriptionPayload>;

/** A delivery is at most about 1 MB of events; a bigger inflation is not CloudWatch's. */
const MAX_INFLATED_BYTES = 6 * 1024 * 1024;

const invalid = (why: string, cause?: unknown): never => {
  throw new ValidationError(`not a CloudWatch Logs subscription event: ${why}`, { cause });
};

/** Decodes and validates a subscription delivery; anything else throws ValidationError. */
export function parseLogsSubscriptionEvent(event: unknown): LogsSubscriptionPayload {
  const outer = LogsSubscriptionEvent.safeParse(event);
  if (!outer.success) return invalid('awslogs.data is missing');
  const compressed = Buffer.from(outer.data.awslogs.data, 'base64');
  let text: string;
  try {
    text = gunzipSync(compressed, { maxOutputLength: MAX_INFLATED_BYTES }).toString('utf8');
  } catch (error) {
    return invalid('awslogs.data is not base64 gzip', error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return invalid('the payload is not JSON', error);
  }
  const payload = safeParse(LogsSubscriptionPayload, json);
  if (!payload.success) {
    const issue = payload.error.issues[0];
    return invalid(`${issue?.path.join('.') || 'payload'}: ${issue?.message ?? 'invalid'}`);
  }
  return payload.data;
}

/** The same encoding CloudWatch uses, for tests, sample events and the bench. */
export function encodeLogsSubscriptionEvent(payload: LogsSubscriptionPayload): {
  awslogs: { data: string };
} {
  return { awslogs: { data: gzipSync(JSON.stringify(payload)).toString('base64') } };
}
