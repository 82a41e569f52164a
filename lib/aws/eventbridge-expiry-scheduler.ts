import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type { Session } from '../domain/session.ts';
import type { ExpiryScheduler } from '../ports/expiry-scheduler.ts';
import { errorName, isNotFound } from './aws-errors.ts';

export interface EventBridgeExpirySchedulerOptions {
  scheduler: SchedulerClient;
  groupName: string;
  /** the `expire` function */
  targetArn: string;
  /** the role EventBridge Scheduler assumes to invoke the target */
  roleArn: string;
  /** the queue that receives invocations that exhausted their retries */
  deadLetterArn: string;
}

const MINUTE_MS = 60_000;

/**
 * EventBridge Scheduler invokes with 60-second precision: a schedule set for 1:00 fires
 * anywhere from 1:00:00 to 1:00:59 (its documentation), seconds or not. A schedule at
 * expiresAt could so fire up to a minute late, and one rounded up could fire early and find
 * nothing to do. So the schedule is set for the whole minute that ends at least a minute
 * before expiresAt: whatever second of that minute it fires, it is early, by at most two
 * minutes, and `expire` waits out the rest in-process (expireSession's maxWaitMs), ending the
 * session within its own run time of expiresAt.
 */
export function fireMinuteFor(expiresAt: number): number {
  return Math.floor((expiresAt - MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
}

/** At most this early: `expire` must be able to wait this long (its timeout, serverless.yml). */
export const MAX_EARLY_FIRE_MS = 2 * MINUTE_MS;

/** `at()` takes a local date-time without zone or fractions. */
export function atExpression(epochMs: number): string {
  return `at(${new Date(epochMs).toISOString().slice(0, 19)})`;
}

/** Layer 2 of expiry: one one-time schedule per session, named after it. */
export class EventBridgeExpiryScheduler implements ExpiryScheduler {
  readonly #options: EventBridgeExpirySchedulerOptions;

  constructor(options: EventBridgeExpirySchedulerOptions) {
    this.#options = options;
  }

  async schedule(session: Session): Promise<string> {
    if (session.expiresAt === undefined) {
      throw new Error(`session ${session.id} has no expiresAt to schedule`);
    }
    const { scheduler, groupName, targetArn, roleArn, deadLetterArn } = this.#options;
    const input: CreateScheduleCommandInput = {
      Name: session.id,
      GroupName: groupName,
      ScheduleExpression: atExpression(fireMinuteFor(session.expiresAt)),
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      // A fired one-time schedule is deleted, so nothing is left to reconcile.
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Target: {
        Arn: targetArn,
        RoleArn: roleArn,
        Input: JSON.stringify({ sessionId: session.id }),
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: deadLetterArn },
      },
    };
    try {
      await scheduler.send(new CreateScheduleCommand(input));
    } catch (error) {
      if (errorName(error) !== 'ConflictException') throw failure('create', session, error);
      // The schedule exists (an extension, or a retried request): move it instead.
      try {
        await scheduler.send(new UpdateScheduleCommand(input));
      } catch (updateError) {
        throw failure('move', session, updateError);
      }
    }
    return session.id;
  }

  async cancel(session: Session): Promise<void> {
    try {
      await this.#options.scheduler.send(
        new DeleteScheduleCommand({ Name: session.id, GroupName: this.#options.groupName }),
      );
    } catch (error) {
      if (!isNotFound(error)) throw failure('delete', session, error);
    }
  }
}

function failure(action: string, session: Session, error: unknown): Error {
  return new Error(
    `could not ${action} the expiry schedule of session ${session.id}: ${errorName(error)}`,
    { cause: error },
  );
}
