import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLIENT_RETRY, type ClientName, clientSettings } from '../../lib/aws/client-settings.ts';
import { Ec2Provider } from '../../lib/aws/ec2-provider.ts';
import type { Session } from '../../lib/domain/session.ts';

/**
 * The SDK's retries seen from the wire: aws-sdk-client-mock replaces the client's send and so
 * bypasses its retry middleware; a local HTTP server standing in for EC2 does not.
 */
let server: Server;
let endpoint = '';
let throttleFirst = 0;
let refuse = false;
let bodies: string[] = [];

const THROTTLED = `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>`;
const DESCRIBED = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-2</requestId><reservationSet/></DescribeInstancesResponse>`;
const RAN = `<?xml version="1.0" encoding="UTF-8"?>
<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-3</requestId><reservationId>r-0</reservationId><instancesSet><item><instanceId>i-0123456789abcdef0</instanceId></item></instancesSet></RunInstancesResponse>`;

const read = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const body = await read(request);
    bodies.push(body);
    response.setHeader('content-type', 'text/xml');
    if (refuse) {
      response.statusCode = 400;
      response.end(THROTTLED.replace('RequestLimitExceeded', 'InvalidParameterValue'));
      return;
    }
    if (bodies.length <= throttleFirst) {
      response.statusCode = 503;
      response.end(THROTTLED);
      return;
    }
    response.end(body.includes('Action=RunInstances') ? RAN : DESCRIBED);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  bodies = [];
  throttleFirst = 0;
  refuse = false;
  // Full jitter draws each backoff as random() × bound: 0 keeps the test from waiting.
  vi.spyOn(Math, 'random').mockReturnValue(0);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const ec2 = (): EC2Client =>
  new EC2Client({
    ...clientSettings('ec2'),
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
  });

const provider = (): Ec2Provider =>
  new Ec2Provider({
    ec2: ec2(),
    stage: 'dev',
    launchTemplateId: 'lt-0123456789abcdef0',
    logGroupName: '/drawbridge/dev/sessions',
  });

const readySession = {
  status: 'READY',
  resources: { instanceId: 'i-0123456789abcdef0' },
} as unknown as Session;

describe('EC2 calls retry once, in the SDK client', () => {
  it(`a call EC2 keeps throttling is sent exactly maxAttempts (${CLIENT_RETRY.ec2.maxAttempts}) times, not multiplied by a loop on top`, async () => {
    throttleFirst = Number.POSITIVE_INFINITY;
    await expect(provider().inspect(readySession)).rejects.toThrow(/throttled/);
    expect(bodies).toHaveLength(CLIENT_RETRY.ec2.maxAttempts);
    expect(bodies.every((body) => body.includes('Action=DescribeInstances'))).toBe(true);
  });

  it('a call throttled twice succeeds on the third attempt', async () => {
    throttleFirst = 2;
    await expect(provider().inspect(readySession)).resolves.toEqual({ state: 'gone' });
    expect(bodies).toHaveLength(3);
  });

  it('every retried RunInstances carries the same ClientToken, so a retry never launches twice', async () => {
    throttleFirst = 2;
    const output = await ec2().send(
      new RunInstancesCommand({ MinCount: 1, MaxCount: 1, ClientToken: 's-token-1' }),
    );
    expect(output.Instances?.[0]?.InstanceId).toBe('i-0123456789abcdef0');
    expect(bodies).toHaveLength(3);
    expect(bodies.map((body) => new URLSearchParams(body).get('ClientToken'))).toEqual([
      's-token-1',
      's-token-1',
      's-token-1',
    ]);
  });

  it('a request EC2 refuses as invalid is sent once', async () => {
    refuse = true;
    await expect(ec2().send(new DescribeInstancesCommand({}))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    expect(bodies).toHaveLength(1);
  });
});

describe('each client is configured with the SDK strategy chosen for it', () => {
  it.each(Object.keys(CLIENT_RETRY) as ClientName[])('%s', async (name) => {
    const client = new EC2Client({ region: 'eu-west-1', ...clientSettings(name) });
    const strategy = await client.config.retryStrategy();
    expect((strategy as { mode?: string }).mode).toBe(CLIENT_RETRY[name].retryMode);
    expect(await client.config.maxAttempts()).toBe(CLIENT_RETRY[name].maxAttempts);
  });
});
