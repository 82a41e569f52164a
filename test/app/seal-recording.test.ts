import { beforeEach, describe, expect, it } from 'vitest';
import { sealRecording } from '../../lib/app/seal-recording.ts';
import { canonical } from '../../lib/domain/audit.ts';
import { parseChunks } from '../../lib/domain/recording-chain.ts';
import type { Session } from '../../lib/domain/session.ts';
import type {
  RecordingReader,
  RecordingStep,
  StoredRecording,
} from '../../lib/ports/recording-reader.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { linkChunks } from '../support/recording-chunks.ts';
import { makeSession } from '../support/sessions.ts';

const SECOND = 1_000;

/**
 * A shipped recording (ec2-like): the test decides what has arrived so far, and how many lines
 * one read gives (`step`; each line filed at its own millisecond, 1000 + its index).
 */
class ShippedRecordings implements RecordingReader {
  readonly lateArrivalMs = 30 * SECOND;
  lines: string[] = [];
  step = Number.POSITIVE_INFINITY;
  onRead: (() => Promise<void>) | undefined;
  async read(): Promise<StoredRecording> {
    const { lines, partial } = await this.readChunks(undefined, undefined);
    return { kind: 'chunks', lines: lines.map((entry) => entry.line), partial };
  }
  async readChunks(_session?: Session, from = 0): Promise<RecordingStep> {
    await this.onRead?.();
    const filed = this.lines
      .map((line, index) => ({ at: 1000 + index, line }))
      .filter((entry) => entry.at >= from);
    return { lines: filed.slice(0, this.step), partial: filed.length > this.step };
  }
}

function chunks(sid: string, kinds: readonly ('start' | 'data' | 'end')[]): string[] {
  const bodies = kinds.map((kind) =>
    kind === 'start'
      ? { kind, at: 1, width: 80, height: 24, user: 'db-x', input: false }
      : kind === 'data'
        ? { kind, events: [[2, 'o', 'x']] }
        : { kind, at: 3, reason: 'signal' },
  );
  return linkChunks(sid, bodies).map((chunk) => canonical(chunk));
}

let world: TestWorld;
let recordings: ShippedRecordings;
const deps = () => ({ ...world.deps, recordings });

beforeEach(() => {
  world = testWorld();
  recordings = new ShippedRecordings();
});

/** An ec2 recorded session that ended a moment ago, its recording still settling. */
async function settling(): Promise<Session> {
  const now = world.clock.now();
  const session = makeSession({
    mode: 'ec2',
    recording: 'full',
    status: 'ENDED',
    endedAt: now,
    resources: { instanceId: 'i-0000000000000000a' },
    recordingSettle: { checkAt: now + 30 * SECOND, deadline: now + 330 * SECOND },
  });
  return (await world.store.create(session, { quota: 5, event: { type: 'ended', actor: 'x' } }))
    .session;
}

/** The reaper's sweeps, a minute apart, until the recording is sealed: how many it took. */
async function sweepUntilSealed(id: string, most = 50): Promise<number> {
  for (let sweeps = 1; sweeps <= most; sweeps += 1) {
    world.clock.advance(60 * SECOND);
    const current = await world.store.get(id);
    if (!current) throw new Error('gone');
    if ((await sealRecording(deps(), current)) === 'sealed') return sweeps;
  }
  throw new Error(`not sealed after ${most} sweeps`);
}

describe('sealRecording (the reaper, once an ended recording may have settled)', () => {
  it('does not read before the check, waits while the recording is not closed, and seals it once it is', async () => {
    const session = await settling();
    let reads = 0;
    recordings.onRead = async () => {
      reads += 1;
    };
    recordings.lines = chunks(session.id, ['start', 'data']);
    expect(await sealRecording(deps(), session)).toBe('not-due');
    expect(reads).toBe(0);
    world.clock.advance(30 * SECOND);
    expect(await sealRecording(deps(), session)).toBe('waiting');
    recordings.lines = chunks(session.id, ['start', 'data', 'end']);
    world.clock.advance(60 * SECOND);
    expect(await sealRecording(deps(), session)).toBe('sealed');
    expect((await world.store.get(session.id))?.recordingHead).toMatchObject({
      seq: 3,
      closed: true,
    });
  });

  it('waits for the deadline when nothing has arrived, then seals without a head, not closed, so it leaves the reaper', async () => {
    const session = await settling();
    world.clock.advance(30 * SECOND);
    // a late agent or a deleted stream reads as nothing: not a closed, empty recording
    expect(await sealRecording(deps(), session)).toBe('waiting');
    world.clock.advance(300 * SECOND);
    expect(await sealRecording(deps(), session)).toBe('sealed');
    const events = await world.store.listEvents(session.id);
    expect(events.at(-1)).toMatchObject({ type: 'recording-sealed', detail: { closed: false } });
    const sealed = await world.store.get(session.id);
    expect(sealed?.recordingHead).toBeUndefined();
    expect(sealed?.recordingSettle).toBeUndefined();
    expect(await world.store.listDue(world.clock.now() + 3_600 * SECOND, 10)).toEqual([]);
  });

  it('never seals a head from a partial read: it keeps a checkpoint and reads on at the next sweep, then seals the true head', async () => {
    const session = await settling();
    // What one read gives looks closed (start, end), but the reader stopped before the end.
    recordings.lines = chunks(session.id, ['start', 'end', 'start', 'data', 'end']);
    recordings.step = 2;
    world.clock.advance(30 * SECOND);
    expect(await sealRecording(deps(), session)).toBe('reading');
    const reading = await world.store.get(session.id);
    expect(reading?.recordingHead).toBeUndefined();
    expect(reading?.recordingSettle?.read).toMatchObject({ seq: 2, chunks: 2, at: 1001 });
    expect((await world.store.listEvents(session.id)).at(-1)).toMatchObject({
      type: 'recording-read-progress',
      detail: { chunksRead: 2, seq: 2 },
    });
    // Still due: the next sweep reads on from the checkpoint.
    expect((await world.store.listDue(world.clock.now(), 10)).map((s) => s.id)).toEqual([
      session.id,
    ]);
    // A read resumes at the last line's millisecond, so it gives that line again (skipped).
    expect(await sweepUntilSealed(session.id)).toBe(3);
    const sealed = await world.store.get(session.id);
    const last = parseChunks(recordings.lines).at(-1);
    expect(sealed?.recordingHead).toEqual({ seq: 5, hash: last?.hash, closed: true });
    expect(sealed?.recordingSettle).toBeUndefined();
    expect((await world.store.listEvents(session.id)).at(-1)).toMatchObject({
      type: 'recording-sealed',
      detail: { chunks: 5, closed: true },
    });
    expect(await world.store.listDue(world.clock.now() + 3_600 * SECOND, 10)).toEqual([]);
  });

  it('still seals when a replay wrote the session between its read and its write', async () => {
    const session = await settling();
    recordings.lines = chunks(session.id, ['start', 'end']);
    recordings.onRead = async () => {
      recordings.onRead = undefined;
      const fresh = await world.store.get(session.id);
      if (!fresh) throw new Error('gone');
      await world.store.transition(
        fresh,
        { ...fresh, version: fresh.version + 1 },
        { type: 'recording-viewed', actor: 'auditor' },
      );
    };
    world.clock.advance(30 * SECOND);
    expect(await sealRecording(deps(), session)).toBe('sealed');
    const types = (await world.store.listEvents(session.id)).map((event) => event.type);
    expect(types).toEqual(['ended', 'recording-viewed', 'recording-sealed']);
    expect((await world.store.get(session.id))?.recordingHead).toMatchObject({ seq: 2 });
  });
});
