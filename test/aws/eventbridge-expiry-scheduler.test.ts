import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  atExpression,
  EventBridgeExpiryScheduler,
  fireMinuteFor,
  MAX_EARLY_FIRE_MS,
} from '../../lib/aws/eventbridge-expiry-scheduler.ts';
import { linuxUserFor, type Session } from '../../lib/domain/session.ts';

const schedulerMock = mockClient(SchedulerClient);
const SESSION_ID = 's-0123456789abcdefghjk';
const NOW = Date.UTC(2026, 10, 24, 6, 0, 0);

function session(overrides: Partial<Session> = {}): Session {
  return {
    id: SESSION_ID,
    owner: 'alice@example.com',
    ownerGroups: ['engineers'],
    sourceIp: '203.0.113.7',
    sourceCidr: '203.0.113.7/32',
    target: 'prod-db',
    mode: 'ec2',
    reason: 'investigate',
    publicKey: 'ssh-ed25519 AAAA',
    durationMinutes: 30,
    linuxUser: linuxUserFor(SESSION_ID),
    status: 'READY',
    version: 3,
    createdAt: NOW,
    updatedAt: NOW,
    provisioningDeadline: NOW + 600_000,
    credentialExpiresAt: NOW + 35 * 60_000,
    readyAt: NOW,
    // 06:30:00.250: the schedule's minute is 06:29, which ends before it whatever second fires
    expiresAt: NOW + 30 * 60_000 + 250,
    resources: {},
    auditSeq: 3,
    auditHead: 'a'.repeat(64),
    ...overrides,
  };
}

const scheduler = () =>
  new EventBridgeExpiryScheduler({
    scheduler: new SchedulerClient({ region: 'eu-west-1' }),
    groupName: 'drawbridge-dev',
    targetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:drawbridge-dev-expire',
    roleArn: 'arn:aws:iam::123456789012:role/drawbridge-dev-scheduler',
    deadLetterArn: 'arn:aws:sqs:eu-west-1:123456789012:drawbridge-dev-expiry-dlq',
  });

const EXPECTED_INPUT = {
  Name: SESSION_ID,
  GroupName: 'drawbridge-dev',
  ScheduleExpression: 'at(2026-11-24T06:29:00)',
  ScheduleExpressionTimezone: 'UTC',
  FlexibleTimeWindow: { Mode: 'OFF' },
  ActionAfterCompletion: 'DELETE',
  State: 'ENABLED',
  Target: {
    Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:drawbridge-dev-expire',
    RoleArn: 'arn:aws:iam::123456789012:role/drawbridge-dev-scheduler',
    Input: JSON.stringify({ sessionId: SESSION_ID }),
    RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
    DeadLetterConfig: { Arn: 'arn:aws:sqs:eu-west-1:123456789012:drawbridge-dev-expiry-dlq' },
  },
};

beforeEach(() => {
  schedulerMock.reset();
  schedulerMock.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
  schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
  schedulerMock.on(DeleteScheduleCommand).resolves({});
});

describe('EventBridgeExpiryScheduler', () => {
  it('creates a one-time UTC schedule for the minute that ends before expiresAt', async () => {
    await expect(scheduler().schedule(session())).resolves.toBe(SESSION_ID);
    const calls = schedulerMock.commandCalls(CreateScheduleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual(EXPECTED_INPUT);
    expect(schedulerMock).not.toHaveReceivedCommand(UpdateScheduleCommand);
  });

  it('fires early by at most MAX_EARLY_FIRE_MS, never late, whatever second of its minute it fires', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: NOW, max: NOW + 400 * 24 * 3_600_000 }),
        fc.integer({ min: 0, max: 59_999 }),
        (expiresAt, second) => {
          const minute = fireMinuteFor(expiresAt);
          expect(minute % 60_000).toBe(0);
          const firedAt = minute + second;
          expect(firedAt).toBeLessThan(expiresAt);
          expect(expiresAt - firedAt).toBeLessThanOrEqual(MAX_EARLY_FIRE_MS);
          expect(atExpression(minute)).toBe(
            `at(${new Date(minute).toISOString().slice(0, 16)}:00)`,
          );
        },
      ),
    );
  });

  it('moves an existing schedule when the session is extended', async () => {
    schedulerMock
      .on(CreateScheduleCommand)
      .rejects(new ConflictException({ message: 'exists', Message: 'exists', $metadata: {} }));
    const extended = session({ expiresAt: NOW + 90 * 60_000 });
    await expect(scheduler().schedule(extended)).resolves.toBe(SESSION_ID);
    const calls = schedulerMock.commandCalls(UpdateScheduleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      ...EXPECTED_INPUT,
      ScheduleExpression: 'at(2026-11-24T07:29:00)',
    });
  });

  it('fails with a clear message that carries no SDK text', async () => {
    schedulerMock.on(CreateScheduleCommand).rejects(
      new ValidationException({
        message: 'secret detail',
        Message: 'secret detail',
        $metadata: {},
      }),
    );
    const error = await scheduler()
      .schedule(session())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      `could not create the expiry schedule of session ${SESSION_ID}: ValidationException`,
    );
  });

  it('refuses a session that has no expiry yet', async () => {
    await expect(scheduler().schedule(session({ expiresAt: undefined }))).rejects.toThrow(
      'no expiresAt',
    );
    expect(schedulerMock).not.toHaveReceivedAnyCommand();
  });

  it('deletes the schedule on cancel, and a missing one is fine', async () => {
    await scheduler().cancel(session());
    expect(schedulerMock).toHaveReceivedCommandWith(DeleteScheduleCommand, {
      Name: SESSION_ID,
      GroupName: 'drawbridge-dev',
    });
    schedulerMock
      .on(DeleteScheduleCommand)
      .rejects(new ResourceNotFoundException({ message: 'gone', Message: 'gone', $metadata: {} }));
    await expect(scheduler().cancel(session())).resolves.toBeUndefined();
  });

  it('reports any other failure to cancel', async () => {
    schedulerMock
      .on(DeleteScheduleCommand)
      .rejects(new ValidationException({ message: 'bad', Message: 'bad', $metadata: {} }));
    await expect(scheduler().cancel(session())).rejects.toThrow(
      `could not delete the expiry schedule of session ${SESSION_ID}: ValidationException`,
    );
  });
});
