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
import { beforeEach, describe, expect, it } from 'vitest';
import {
  atExpression,
  EventBridgeExpiryScheduler,
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
    // 06:30:00.250 must fire at 06:30:01, never before the session really ended
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
  ScheduleExpression: 'at(2026-11-24T06:30:01)',
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
  it('creates a one-time UTC schedule at expiresAt rounded up to the second', async () => {
    await expect(scheduler().schedule(session())).resolves.toBe(SESSION_ID);
    const calls = schedulerMock.commandCalls(CreateScheduleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual(EXPECTED_INPUT);
    expect(schedulerMock).not.toHaveReceivedCommand(UpdateScheduleCommand);
  });

  it('keeps a whole second as it is', () => {
    expect(atExpression(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('at(2026-01-02T03:04:05)');
    expect(atExpression(Date.UTC(2026, 0, 2, 3, 4, 5, 1))).toBe('at(2026-01-02T03:04:06)');
    expect(atExpression(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('at(2027-01-01T00:00:00)');
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
      ScheduleExpression: 'at(2026-11-24T07:30:00)',
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
