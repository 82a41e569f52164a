import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchSessionLog } from '../../lib/aws/cloudwatch-session-log.ts';
import { makeSession } from '../support/sessions.ts';

const logs = new CloudWatchLogsClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const logsMock = mockClient(logs);
const GROUP = '/drawbridge/test/sessions';
const INSTANCE = 'i-0123456789abcdef0';
const KEY = 'SHA256:M3r5WVSwYhVV8EK/u9MutGEdinF6TtXtp6OVtV9ro2c';

beforeEach(() => logsMock.reset());

describe('CloudWatchSessionLog', () => {
  it("reads the session's own instance's stream from the head, across pages, until the token repeats", async () => {
    const session = makeSession({ resources: { instanceId: INSTANCE } });
    logsMock
      .on(GetLogEventsCommand, { logStreamName: INSTANCE, nextToken: undefined })
      .resolves({
        events: [
          {
            timestamp: 1000,
            message:
              'Nov 24 07:39:20 ip-10-0-1-5 sshd[1]: Connection from 203.0.113.9 port 60000 on 10.0.1.5 port 22 rdomain ""\n',
          },
          { timestamp: 1001, message: 'Nov 24 07:39:20 ip-10-0-1-5 systemd[1]: Started session' },
        ],
        nextForwardToken: 'f/1',
      })
      .on(GetLogEventsCommand, { nextToken: 'f/1' })
      .resolves({
        events: [
          {
            timestamp: 2000,
            message: `Nov 24 07:39:21 ip-10-0-1-5 sshd[1]: Accepted publickey for db-x from 203.0.113.9 port 60000 ssh2: ED25519 ${KEY}`,
          },
        ],
        nextForwardToken: 'f/2',
      })
      .on(GetLogEventsCommand, { nextToken: 'f/2' })
      .resolves({ events: [], nextForwardToken: 'f/2' });

    const records = await new CloudWatchSessionLog({ logs, logGroupName: GROUP }).connections(
      session,
    );
    expect(records).toEqual([
      { kind: 'connected', address: '203.0.113.9', port: 60000, at: 1000 },
      {
        kind: 'authenticated',
        user: 'db-x',
        address: '203.0.113.9',
        port: 60000,
        key: KEY,
        at: 2000,
      },
    ]);
    expect(logsMock).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: GROUP,
      logStreamName: INSTANCE,
      startFromHead: true,
    });
    expect(logsMock).toHaveReceivedCommandTimes(GetLogEventsCommand, 3);
  });

  it('reads nothing before the session has an instance (no stream can be its own yet)', async () => {
    const records = await new CloudWatchSessionLog({ logs, logGroupName: GROUP }).connections(
      makeSession(),
    );
    expect(records).toEqual([]);
    expect(logsMock).toHaveReceivedCommandTimes(GetLogEventsCommand, 0);
  });

  it('answers an empty list before the bastion has shipped anything', async () => {
    const error = Object.assign(new Error('The specified log stream does not exist.'), {
      name: 'ResourceNotFoundException',
    });
    logsMock.on(GetLogEventsCommand).rejects(error);
    expect(
      await new CloudWatchSessionLog({ logs, logGroupName: GROUP }).connections(
        makeSession({ resources: { instanceId: INSTANCE } }),
      ),
    ).toEqual([]);
  });

  it('reads at most maxPages pages', async () => {
    let page = 0;
    logsMock.on(GetLogEventsCommand).callsFake(async () => {
      page += 1;
      return { events: [], nextForwardToken: `f/${page}` };
    });
    await new CloudWatchSessionLog({ logs, logGroupName: GROUP, maxPages: 2 }).connections(
      makeSession({ resources: { instanceId: INSTANCE } }),
    );
    expect(logsMock).toHaveReceivedCommandTimes(GetLogEventsCommand, 2);
  });
});
