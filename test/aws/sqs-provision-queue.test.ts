import { SendMessageCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsProvisionQueue } from '../../lib/aws/sqs-provision-queue.ts';

const sqsMock = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/drawbridge-dev-provision';

const queue = () =>
  new SqsProvisionQueue({ sqs: new SQSClient({ region: 'eu-west-1' }), queueUrl: QUEUE_URL });

beforeEach(() => sqsMock.reset());

describe('SqsProvisionQueue', () => {
  it('sends one message naming the session', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    await queue().enqueue('s-0123456789abcdefghjk');
    const calls = sqsMock.commandCalls(SendMessageCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE_URL,
      MessageBody: '{"sessionId":"s-0123456789abcdefghjk"}',
    });
  });

  it('holds a readiness check back for the delay asked', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-2' });
    await queue().enqueue('s-0123456789abcdefghjk', { delaySeconds: 10 });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      MessageBody: '{"sessionId":"s-0123456789abcdefghjk"}',
      DelaySeconds: 10,
    });
  });

  it('sends a launch retry back with exactly the delay asked, within what SQS accepts', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-3' });
    await queue().enqueue('s-0123456789abcdefghjk', { delaySeconds: 30 });
    await queue().enqueue('s-0123456789abcdefghjk', { delaySeconds: 4000 });
    expect(sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: QUEUE_URL,
        MessageBody: '{"sessionId":"s-0123456789abcdefghjk"}',
        DelaySeconds: 30,
      },
      {
        QueueUrl: QUEUE_URL,
        MessageBody: '{"sessionId":"s-0123456789abcdefghjk"}',
        DelaySeconds: 900,
      },
    ]);
  });

  it('fails with the error code only', async () => {
    sqsMock.on(SendMessageCommand).rejects(
      new SQSServiceException({
        name: 'QueueDoesNotExist',
        $fault: 'client',
        $metadata: {},
        message: 'internal detail',
      }),
    );
    await expect(queue().enqueue('s-0123456789abcdefghjk')).rejects.toThrow(
      'could not queue session s-0123456789abcdefghjk for provisioning: QueueDoesNotExist',
    );
  });
});
