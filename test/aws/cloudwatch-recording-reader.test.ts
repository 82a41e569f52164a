import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CloudWatchRecordingReader,
  RECORDING_LATE_ARRIVAL_MS,
} from '../../lib/aws/cloudwatch-recording-reader.ts';
import { GENESIS_HASH } from '../../lib/domain/audit.ts';
import { sealChunk } from '../../lib/domain/recording-chain.ts';
import { makeSession } from '../support/sessions.ts';

const logs = new CloudWatchLogsClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const logsMock = mockClient(logs);
const BASTION_GROUP = '/drawbridge/test/sessions';
const SSM_GROUP = '/drawbridge/test/ssm-sessions';
const INSTANCE = 'i-0123456789abcdef0';
const reader = new CloudWatchRecordingReader({
  logs,
  bastionLogGroup: BASTION_GROUP,
  ssmLogGroup: SSM_GROUP,
});

beforeEach(() => logsMock.reset());

describe('CloudWatchRecordingReader, ec2', () => {
  const session = makeSession({
    mode: 'ec2',
    recording: 'full',
    resources: { instanceId: INSTANCE },
  });
  const start = sealChunk({
    v: 1,
    sid: session.id,
    seq: 1,
    prev: GENESIS_HASH,
    conn: 'c1',
    kind: 'start',
    at: 1000,
    width: 80,
    height: 24,
    user: 'db-x',
    input: false,
  });
  const end = sealChunk({
    v: 1,
    sid: session.id,
    seq: 2,
    prev: start.hash,
    conn: 'c1',
    kind: 'end',
    at: 2000,
    reason: 'exit',
  });

  it("filters the session's chunks out of its instance's stream, across pages, in stored order", async () => {
    logsMock
      .on(FilterLogEventsCommand, { nextToken: undefined })
      .resolves({ events: [{ timestamp: 1000, message: JSON.stringify(start) }], nextToken: 'n1' })
      .on(FilterLogEventsCommand, { nextToken: 'n1' })
      .resolves({ events: [{ timestamp: 2000, message: JSON.stringify(end) }] });
    const stored = await reader.read(session);
    expect(stored).toEqual({
      kind: 'chunks',
      lines: [JSON.stringify(start), JSON.stringify(end)],
      partial: false,
    });
    expect(logsMock).toReceiveCommandTimes(FilterLogEventsCommand, 2);
    expect(logsMock).toReceiveNthCommandWith(FilterLogEventsCommand, 1, {
      logGroupName: BASTION_GROUP,
      logStreamNames: [INSTANCE],
      filterPattern: `{ $.sid = "${session.id}" }`,
    });
    expect(logsMock).toReceiveNthCommandWith(FilterLogEventsCommand, 2, { nextToken: 'n1' });
  });

  it('reads chunk lines for the seal from a time on (inclusive startTime, never a token kept), with their times', async () => {
    logsMock
      .on(FilterLogEventsCommand)
      .resolves({ events: [{ timestamp: 2000, message: JSON.stringify(end) }] });
    expect(await reader.readChunks(session, 2000)).toEqual({
      lines: [{ at: 2000, line: JSON.stringify(end) }],
      partial: false,
    });
    expect(logsMock).toReceiveCommandWith(FilterLogEventsCommand, {
      logStreamNames: [INSTANCE],
      filterPattern: `{ $.sid = "${session.id}" }`,
      startTime: 2000,
    });
    expect(await reader.readChunks(makeSession({ mode: 'ssm', recording: 'full' }))).toEqual({
      lines: [],
      partial: false,
    });
  });

  it('says its last chunks can arrive after the release: the agent ships every 5 s', () => {
    expect(reader.lateArrivalMs).toBe(RECORDING_LATE_ARRIVAL_MS);
    expect(RECORDING_LATE_ARRIVAL_MS).toBeGreaterThanOrEqual(6 * 5_000);
  });

  it('reads nothing before there is an instance, and an absent stream is an empty recording', async () => {
    expect(await reader.read(makeSession({ mode: 'ec2', recording: 'full' }))).toEqual({
      kind: 'chunks',
      lines: [],
      partial: false,
    });
    expect(logsMock).toReceiveCommandTimes(FilterLogEventsCommand, 0);
    logsMock
      .on(FilterLogEventsCommand)
      .rejects(Object.assign(new Error('no such stream'), { name: 'ResourceNotFoundException' }));
    expect(await reader.read(session)).toEqual({ kind: 'chunks', lines: [], partial: false });
  });

  it('says the read is partial when CloudWatch still has a next page at its page bound', async () => {
    const bounded = new CloudWatchRecordingReader({
      logs,
      bastionLogGroup: BASTION_GROUP,
      maxPages: 2,
    });
    logsMock
      .on(FilterLogEventsCommand, { nextToken: undefined })
      .resolves({ events: [{ timestamp: 1000, message: JSON.stringify(start) }], nextToken: 'n1' })
      .on(FilterLogEventsCommand, { nextToken: 'n1' })
      .resolves({ events: [{ timestamp: 2000, message: JSON.stringify(end) }], nextToken: 'n2' });
    // Two chunks that look like a whole, closed recording: only the token says there is more.
    expect(await bounded.read(session)).toEqual({
      kind: 'chunks',
      lines: [JSON.stringify(start), JSON.stringify(end)],
      partial: true,
    });
    expect(logsMock).toReceiveCommandTimes(FilterLogEventsCommand, 2);
  });

  it('is whole when the last page it may read is the last page there is', async () => {
    const bounded = new CloudWatchRecordingReader({
      logs,
      bastionLogGroup: BASTION_GROUP,
      maxPages: 2,
    });
    logsMock
      .on(FilterLogEventsCommand, { nextToken: undefined })
      .resolves({ events: [{ timestamp: 1000, message: JSON.stringify(start) }], nextToken: 'n1' })
      .on(FilterLogEventsCommand, { nextToken: 'n1' })
      .resolves({ events: [{ timestamp: 2000, message: JSON.stringify(end) }] });
    expect((await bounded.read(session)).partial).toBe(false);
  });

  it('a stream deleted between two pages leaves a partial read, not a whole one', async () => {
    logsMock
      .on(FilterLogEventsCommand, { nextToken: undefined })
      .resolves({ events: [{ timestamp: 1000, message: JSON.stringify(start) }], nextToken: 'n1' })
      .on(FilterLogEventsCommand, { nextToken: 'n1' })
      .rejects(Object.assign(new Error('no such stream'), { name: 'ResourceNotFoundException' }));
    expect(await reader.read(session)).toEqual({
      kind: 'chunks',
      lines: [JSON.stringify(start)],
      partial: true,
    });
  });
});

describe('CloudWatchRecordingReader, ssm', () => {
  const session = makeSession({ mode: 'ssm', resources: { targetInstanceId: INSTANCE } });

  it("reads Session Manager's streams of the grant (named <role session name = session id>-…) from the ssm log group", async () => {
    logsMock.on(FilterLogEventsCommand).resolves({
      events: [
        {
          timestamp: 5000,
          message: JSON.stringify({
            eventVersion: '1.0',
            sessionId: `${session.id}-0a1b2c3d4e5f`,
            target: { id: INSTANCE },
            sessionData: ['sh-5.2$ whoami', 'ssm-user'],
          }),
        },
        { timestamp: 6000, message: 'plain output logged at the end' },
      ],
    });
    expect(await reader.read(session)).toEqual({
      kind: 'terminal',
      partial: false,
      output: [
        { at: 5000, text: 'sh-5.2$ whoami' },
        { at: 5000, text: 'ssm-user' },
        { at: 6000, text: 'plain output logged at the end' },
      ],
    });
    expect(logsMock).toReceiveCommandWith(FilterLogEventsCommand, {
      logGroupName: SSM_GROUP,
      logStreamNamePrefix: `${session.id}-`,
    });
  });
});
