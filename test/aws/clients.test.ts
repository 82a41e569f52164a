import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import type { HttpRequest } from '@smithy/types';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** Fresh modules, so the once-per-process clients are built under this test's environment. */
async function freshClients() {
  vi.resetModules();
  const [ec2, dynamo, sqs] = await Promise.all([
    import('../../lib/aws/ec2-client.ts'),
    import('../../lib/aws/dynamodb-clients.ts'),
    import('../../lib/aws/sqs-client.ts'),
  ]);
  return { ...ec2, ...dynamo, ...sqs };
}

interface Sendable {
  middlewareStack: {
    add(
      middleware: (next: unknown) => (args: { request: unknown }) => Promise<never>,
      options: { step: 'build'; name: string },
    ): void;
  };
}

/** Where the SDK would really send the request: captured after the endpoint is resolved and the request built. */
function captureRequests(client: Sendable): HttpRequest[] {
  const requests: HttpRequest[] = [];
  client.middlewareStack.add(
    () => async (args) => {
      requests.push(args.request as HttpRequest);
      throw new Error('captured, not sent');
    },
    { step: 'build', name: 'captureRequest' },
  );
  return requests;
}

beforeEach(() => {
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('AWS_SESSION_TOKEN', '');
  vi.stubEnv('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', '');
  vi.stubEnv('AWS_ENDPOINT_URL_EC2', '');
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', '');
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('AWS clients', () => {
  it('send every request to AWS_ENDPOINT_URL when it is set', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:4566');
    const { ec2Client } = await freshClients();
    const client = await ec2Client();
    const requests = captureRequests(client as unknown as Sendable);
    await expect(client.send(new DescribeInstancesCommand({}))).rejects.toThrow('captured');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ protocol: 'http:', hostname: '127.0.0.1', port: 4566 });
  });

  it('prefer the service-specific AWS_ENDPOINT_URL_<SERVICE>', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:4566');
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', 'http://localhost:8000');
    const { dynamoClient } = await freshClients();
    const client = dynamoClient();
    const requests = captureRequests(client as unknown as Sendable);
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow('captured');
    expect(requests[0]).toMatchObject({ hostname: 'localhost', port: 8000 });
  });

  it('use the regional AWS endpoint when nothing is configured', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    const { ec2Client } = await freshClients();
    const client = await ec2Client();
    const requests = captureRequests(client as unknown as Sendable);
    await expect(client.send(new DescribeInstancesCommand({}))).rejects.toThrow('captured');
    expect(requests[0]).toMatchObject({
      protocol: 'https:',
      hostname: 'ec2.eu-west-1.amazonaws.com',
    });
  });

  it('are created once per process', async () => {
    const clients = await freshClients();
    expect(await clients.ec2Client()).toBe(await clients.ec2Client());
    expect(clients.dynamoDocumentClient()).toBe(clients.dynamoDocumentClient());
    expect(clients.dynamoDocumentClient().config.translateConfig?.marshallOptions).toEqual({
      removeUndefinedValues: true,
      convertClassInstanceToMap: false,
    });
    expect(await clients.sqsClient().config.maxAttempts()).toBe(3);
  });
});
