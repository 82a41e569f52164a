import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RECORDING_READ_CAP_MS, sealRecording } from '../../lib/app/seal-recording.ts';
import { checkRecording } from '../../lib/app/verify-audit.ts';
import { CloudWatchRecordingReader } from '../../lib/aws/cloudwatch-recording-reader.ts';
import { canonical } from '../../lib/domain/audit.ts';
import type { RecordingChunk } from '../../lib/domain/recording-chain.ts';
import type { Session } from '../../lib/domain/session.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { linkChunks } from '../support/recording-chunks.ts';
import { makeSession } from '../support/sessions.ts';

/**
 * The seal over the real CloudWatch reader, its FilterLogEvents pages served from a list of
 * stored events the way CloudWatch does: from startTime (inclusive), PAGE events a page.
 */
const SECOND = 1_000;
const PAGE = 3;
const logs = new CloudWatchLogsClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const logsMock = mockClient(logs);
const INSTANCE = 'i-0123456789abcdef0';
/** two pages a read: six events */
const reader = new CloudWatchRecordingReader({
  logs,
  bastionLogGroup: '/drawbridge/test/sessions',
  maxPages: 2,
});

let world: TestWorld;
let stored: { timestamp: number; message: string }[];
const deps = () => ({ ...world.deps, recordings: reader });

beforeEach(() => {
  world = testWorld();
  stored = [];
  logsMock.reset();
  logsMock.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) => {
    const from = input.startTime ?? 0;
    const matching = stored.filter((event) => event.timestamp >= from);
    const offset = Number(input.nextToken ?? 0);
    const next = offset + PAGE;
    return {
      events: matching.slice(offset, next),
      ...(next < matching.length ? { nextToken: String(next) } : {}),
    };
  });
});

/**
 * A recording of `data` output chunks on one connection, start to end. ship() files it `perMs`
 * chunks to a millisecond (the agent stamps a batch of lines with one time).
 */
function recording(sid: string, data: number): RecordingChunk[] {
  return linkChunks(sid, [
    { kind: 'start', at: 1, width: 80, height: 24, user: 'db-x', input: false },
    ...Array.from({ length: data }, (_, i) => ({
      kind: 'data',
      events: [[2 + i, 'o', `line ${i}`]],
    })),
    { kind: 'end', at: 3 + data, reason: 'exit' },
  ]);
}

function ship(chunks: readonly RecordingChunk[], perMs = 1): void {
  stored = chunks.map((chunk, index) => ({
    timestamp: 5_000 + Math.floor(index / perMs),
    message: canonical(chunk),
  }));
}

async function settling(): Promise<Session> {
  const now = world.clock.now();
  const session = makeSession({
    mode: 'ec2',
    recording: 'full',
    status: 'ENDED',
    endedAt: now,
    resources: { instanceId: INSTANCE },
    recordingSettle: { checkAt: now + 30 * SECOND, deadline: now + 330 * SECOND },
  });
  return (await world.store.create(session, { quota: 5, event: { type: 'ended', actor: 'x' } }))
    .session;
}

/** One reaper sweep a minute: the outcome of each, until sealed. */
async function sweeps(id: string, most = 100): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < most; i += 1) {
    world.clock.advance(60 * SECOND);
    const current = await world.store.get(id);
    if (!current) throw new Error('gone');
    const outcome = await sealRecording(deps(), current);
    outcomes.push(outcome);
    if (outcome === 'sealed') return outcomes;
  }
  return outcomes;
}

describe('the seal of a recording longer than one read (CloudWatch pages)', () => {
  it('is sealed with its true head, closed, after several sweeps, each reading on from the last', async () => {
    const session = await settling();
    const chunks = recording(session.id, 14);
    ship(chunks);
    const outcomes = await sweeps(session.id);
    expect(outcomes.at(-1)).toBe('sealed');
    expect(outcomes.filter((outcome) => outcome === 'reading').length).toBeGreaterThanOrEqual(2);
    const sealed = await world.store.get(session.id);
    expect(sealed?.recordingHead).toEqual({ seq: 16, hash: chunks.at(-1)?.hash, closed: true });
    expect(sealed?.recordingSettle).toBeUndefined();
    // Each read after the first started where the last one stopped, not at the beginning.
    const starts = logsMock
      .commandCalls(FilterLogEventsCommand)
      .filter((call) => call.args[0].input.nextToken === undefined)
      .map((call) => call.args[0].input.startTime);
    expect(starts[0]).toBeUndefined();
    expect(starts.slice(1).every((start) => start !== undefined && start > 5_000)).toBe(true);
    const trail = await world.store.listEvents(session.id);
    expect(trail.at(-1)).toMatchObject({
      type: 'recording-sealed',
      detail: { chunks: 16, closed: true },
    });
    expect(trail.at(-1)?.detail).not.toHaveProperty('problem');
  });

  it('a flood (many chunks filed in each millisecond, across read boundaries) cannot prevent a head', async () => {
    const session = await settling();
    const chunks = recording(session.id, 40);
    ship(chunks, 4);
    const outcomes = await sweeps(session.id);
    expect(outcomes.at(-1)).toBe('sealed');
    const sealed = await world.store.get(session.id);
    expect(sealed?.recordingHead).toEqual({ seq: 42, hash: chunks.at(-1)?.hash, closed: true });
    // nothing skipped twice or read twice: the chain held link by link across every boundary
    expect((await world.store.listEvents(session.id)).at(-1)?.detail).not.toHaveProperty('problem');
  });

  it.each([
    [
      'removed',
      (chunks: RecordingChunk[], at: number) => chunks.filter((_, i) => i !== at),
      'missing',
    ],
    [
      'altered',
      (chunks: RecordingChunk[], at: number) =>
        chunks.map((chunk, i) =>
          i === at && chunk.kind === 'data'
            ? { ...chunk, events: [[9, 'o', 'rewritten']] as typeof chunk.events }
            : chunk,
        ),
      'altered',
    ],
  ] as const)(
    'a chunk %s just past a checkpoint, between two sweeps, is caught and reported with the seal',
    async (_what, edit, problem) => {
      const session = await settling();
      const chunks = recording(session.id, 14);
      ship(chunks);
      world.clock.advance(60 * SECOND);
      expect(await sealRecording(deps(), session)).toBe('reading');
      const checkpoint = (await world.store.get(session.id))?.recordingSettle?.read;
      if (!checkpoint) throw new Error('no checkpoint');
      // the next chunk the seal has not read yet (seq checkpoint.seq + 1, index checkpoint.seq)
      ship(edit(chunks, checkpoint.seq));
      const outcomes = await sweeps(session.id);
      expect(outcomes.at(-1)).toBe('sealed');
      const trail = await world.store.listEvents(session.id);
      expect(trail.at(-1)).toMatchObject({
        type: 'recording-sealed',
        detail: { problem, brokenAt: checkpoint.seq + 1 },
      });
    },
  );

  it('a recording still being read at its deadline is read on to its end, then sealed with its true head', async () => {
    const session = await settling();
    const chunks = recording(session.id, 40);
    ship(chunks);
    const outcomes = await sweeps(session.id);
    // 42 chunks, 5 new a read: more sweeps than the 5 minutes to the deadline
    expect(outcomes.length).toBeGreaterThan(6);
    expect((await world.store.get(session.id))?.recordingHead).toEqual({
      seq: 42,
      hash: chunks.at(-1)?.hash,
      closed: true,
    });
  });

  it('one that cannot be read on (a whole read filed in one millisecond) is sealed at the cap with what was read, not closed, saying the end was not reached', async () => {
    const session = await settling();
    const chunks = recording(session.id, 10);
    ship(chunks, 100);
    const first = await sweeps(session.id, 5);
    expect(first).toEqual(['reading', 'waiting', 'waiting', 'waiting', 'waiting']);
    expect((await world.store.listEvents(session.id)).map((event) => event.type)).toEqual([
      'ended',
      'recording-read-progress',
    ]);
    world.clock.advance(RECORDING_READ_CAP_MS + 330 * SECOND);
    const current = await world.store.get(session.id);
    if (!current) throw new Error('gone');
    expect(await sealRecording(deps(), current)).toBe('sealed');
    const sealed = await world.store.get(session.id);
    expect(sealed?.recordingHead).toEqual({ seq: 6, hash: chunks[5]?.hash, closed: false });
    expect((await world.store.listEvents(session.id)).at(-1)).toMatchObject({
      type: 'recording-sealed',
      detail: { chunks: 6, closed: false, reachedEnd: false },
    });
  });
});

describe('verify of a recording sealed without a head', () => {
  it('is never intact when chunks are stored, however whole the read (sealed headless by a partial read before)', async () => {
    const session = await settling();
    const chunks = recording(session.id, 2);
    // As the seal before this change left it: settled, no head.
    const { recordingSettle: _gone, ...headless } = session;
    const lines = chunks.map((chunk) => canonical(chunk));
    const check = checkRecording(headless, lines, false);
    expect(check.intact).toBe(false);
    expect(check).toMatchObject({ problem: 'unsealed', headStored: false, ending: 'unknown' });
    // nothing recorded and nothing sealed is still an honest empty recording
    expect(checkRecording(headless, [], false).intact).toBe(true);
  });

  it('with no chunk stored where its seal read some, says the recording was removed', async () => {
    const session = await settling();
    const { recordingSettle: _gone, ...headless } = session;
    world.clock.advance(30 * SECOND);
    const trail = [
      ...(await world.store.listEvents(session.id)),
      {
        ...(await world.store.listEvents(session.id))[0],
        type: 'recording-sealed',
        detail: { partial: true, chunksRead: 40 },
      },
    ] as Parameters<typeof checkRecording>[3];
    expect(checkRecording(headless, [], false, trail)).toMatchObject({
      intact: false,
      problem: 'truncated',
    });
  });
});
