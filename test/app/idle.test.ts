import { appendFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onEc2BastionLog } from '../../lib/app/bastion-log.ts';
import { noteIdleDisconnect } from '../../lib/app/idle.ts';
import { GENESIS_HASH } from '../../lib/domain/audit.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import { sealChunk } from '../../lib/domain/recording-chain.ts';
import { RecordingWatcher } from '../../lib/local/recording-watcher.ts';
import { TEST_POLICY_YAML, testWorld } from '../support/fakes.ts';
import { idleEndChunk, RECORDED_EC2_POLICY, readyRecordedEc2 } from '../support/recorded-ec2.ts';
import { makeSession } from '../support/sessions.ts';

const policy = (idleEndsSession: boolean) =>
  parsePolicy(
    `${TEST_POLICY_YAML}
  - name: recorded-shell
    mode: local
    host: 127.0.0.1
    port: 22
    access: shell
    recording: full
    idleTimeoutMinutes: 15
    idleEndsSession: ${idleEndsSession}
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 60
`,
    'idle policy',
  );

async function readyIn(world: ReturnType<typeof testWorld>) {
  const session = makeSession({ target: 'recorded-shell', recording: 'full', status: 'READY' });
  return (await world.store.create(session, { quota: 5, event: { type: 'requested', actor: 'a' } }))
    .session;
}

describe('an idle disconnect (noteIdleDisconnect)', () => {
  it('is in the trail, and ends the session with reason idle', async () => {
    const world = testWorld(policy(true));
    const session = await readyIn(world);
    const ended = await noteIdleDisconnect(world.deps, session.id, 'c1');
    expect(ended).toMatchObject({ status: 'ENDED', endReason: 'idle' });
    expect(world.local.released).toContain(session.id);
    const types = (await world.store.listEvents(session.id)).map((event) => event.type);
    expect(types).toEqual(['requested', 'idle-disconnected', 'end', 'ended']);
    expect((await world.store.listEvents(session.id))[1]?.detail).toMatchObject({
      connection: 'c1',
      endsSession: true,
      idleMinutes: 15,
    });
  });

  it('with idleEndsSession: false, is in the trail and the session stays READY', async () => {
    const world = testWorld(policy(false));
    const session = await readyIn(world);
    const after = await noteIdleDisconnect(world.deps, session.id, 'c1');
    expect(after?.status).toBe('READY');
    expect(world.local.released).toEqual([]);
    expect((await world.store.listEvents(session.id)).at(-1)).toMatchObject({
      type: 'idle-disconnected',
      detail: { endsSession: false },
    });
  });

  it('does nothing to a session that is already over', async () => {
    const world = testWorld(policy(true));
    const session = makeSession({ target: 'recorded-shell', status: 'ENDED' });
    await world.store.create(session, { quota: 5, event: { type: 'requested', actor: 'a' } });
    await noteIdleDisconnect(world.deps, session.id, 'c1');
    expect(await world.store.listEvents(session.id)).toHaveLength(1);
  });
});

describe('an idle disconnect on ec2, through the bastion log group subscription', () => {
  it("ends the session on the idle end chunk from its own instance's stream", async () => {
    const world = testWorld(RECORDED_EC2_POLICY);
    const session = await readyRecordedEc2(world, 'i-0000000000000000a');
    const outcome = await onEc2BastionLog(world.deps, {
      stream: 'i-0000000000000000a',
      message: idleEndChunk(session.id),
    });
    expect(outcome).toMatchObject({ outcome: 'idle', session: { status: 'ENDED' } });
    expect(await world.store.get(session.id)).toMatchObject({ status: 'ENDED', endReason: 'idle' });
    expect(world.ec2.released).toEqual([session.id]);
    const events = await world.store.listEvents(session.id);
    expect(events.map((event) => event.type)).toEqual([
      'requested',
      'idle-disconnected',
      'end',
      'ended',
    ]);
    expect(events[1]?.detail).toMatchObject({ connection: '1796165246736-2672', idleMinutes: 15 });
  });

  it("ignores an idle chunk of another session written to this session's stream, and one in no session's stream", async () => {
    const world = testWorld(RECORDED_EC2_POLICY);
    const mine = await readyRecordedEc2(world, 'i-0000000000000000a');
    const theirs = await readyRecordedEc2(world, 'i-0000000000000000b');
    expect(
      await onEc2BastionLog(world.deps, {
        stream: 'i-0000000000000000b',
        message: idleEndChunk(mine.id),
      }),
    ).toMatchObject({ outcome: 'ignored', why: "the chunk is not from the session's own stream" });
    expect(
      await onEc2BastionLog(world.deps, {
        stream: 'i-00000000000000999',
        message: idleEndChunk(mine.id),
      }),
    ).toMatchObject({ outcome: 'ignored', why: 'no session owns this stream' });
    for (const session of [mine, theirs]) {
      expect((await world.store.get(session.id))?.status).toBe('READY');
      expect(await world.store.listEvents(session.id)).toHaveLength(1);
    }
    expect(world.ec2.released).toEqual([]);
  });

  describe('delivered more than once (CloudWatch subscriptions deliver at least once)', () => {
    const keepsSession = {
      ...RECORDED_EC2_POLICY,
      targets: RECORDED_EC2_POLICY.targets.map((target) =>
        target.name === 'recorded-ec2' ? { ...target, idleEndsSession: false } : target,
      ),
    };
    const idleEvents = async (world: ReturnType<typeof testWorld>, id: string) =>
      (await world.store.listEvents(id)).filter((event) => event.type === 'idle-disconnected');

    it('with idleEndsSession: false, the same chunk twice, in turn or at once, is one audit event', async () => {
      const world = testWorld(keepsSession);
      const session = await readyRecordedEc2(world, 'i-0000000000000000a');
      const line = { stream: 'i-0000000000000000a', message: idleEndChunk(session.id) };
      await onEc2BastionLog(world.deps, line);
      await onEc2BastionLog(world.deps, line);
      expect(await idleEvents(world, session.id)).toHaveLength(1);
      expect(await world.store.get(session.id)).toMatchObject({ status: 'READY' });

      const other = await readyRecordedEc2(world, 'i-0000000000000000b');
      const twin = { stream: 'i-0000000000000000b', message: idleEndChunk(other.id) };
      await Promise.all([onEc2BastionLog(world.deps, twin), onEc2BastionLog(world.deps, twin)]);
      expect(await idleEvents(world, other.id)).toHaveLength(1);
    });

    it("another connection's idle end is another event", async () => {
      const world = testWorld(keepsSession);
      const session = await readyRecordedEc2(world, 'i-0000000000000000a');
      for (const conn of ['1796165246736-2672', '1796165299000-2700']) {
        await onEc2BastionLog(world.deps, {
          stream: 'i-0000000000000000a',
          message: idleEndChunk(session.id, conn),
        });
      }
      const events = await idleEvents(world, session.id);
      expect(events.map((event) => event.detail?.connection)).toEqual([
        '1796165246736-2672',
        '1796165299000-2700',
      ]);
    });

    it('a redelivery after the event was written but the end was not still ends the session, writing no second event', async () => {
      const world = testWorld(RECORDED_EC2_POLICY);
      const session = await readyRecordedEc2(world, 'i-0000000000000000a');
      // The first delivery wrote its event, then failed before ending the session.
      await world.store.transition(
        session,
        { ...session, version: session.version + 1 },
        {
          type: 'idle-disconnected',
          actor: 'drawbridge',
          detail: { connection: '1796165246736-2672', endsSession: true, idleMinutes: 15 },
        },
      );
      await onEc2BastionLog(world.deps, {
        stream: 'i-0000000000000000a',
        message: idleEndChunk(session.id),
      });
      expect(await world.store.get(session.id)).toMatchObject({
        status: 'ENDED',
        endReason: 'idle',
      });
      expect(await idleEvents(world, session.id)).toHaveLength(1);
    });
  });

  it('ignores it for a session that is not recorded, and anything that is not exactly an idle end chunk', async () => {
    const world = testWorld(RECORDED_EC2_POLICY);
    const unrecorded = await readyRecordedEc2(world, 'i-0000000000000000c', {
      recording: 'metadata',
    });
    expect(
      await onEc2BastionLog(world.deps, {
        stream: 'i-0000000000000000c',
        message: idleEndChunk(unrecorded.id),
      }),
    ).toMatchObject({ outcome: 'ignored', why: 'the session is not recorded' });
    const session = await readyRecordedEc2(world, 'i-0000000000000000d');
    const forged = idleEndChunk(session.id).replace('"seq":9', '"seq":10');
    expect(
      await onEc2BastionLog(world.deps, { stream: 'i-0000000000000000d', message: forged }),
    ).toMatchObject({ outcome: 'ignored' });
    expect((await world.store.get(session.id))?.status).toBe('READY');
    expect((await world.store.get(unrecorded.id))?.status).toBe('READY');
  });
});

describe('RecordingWatcher (local mode)', () => {
  const id = 's-0123456789abcdefghjk';
  const end = (reason: 'idle' | 'exit', conn: string) =>
    `${JSON.stringify(
      sealChunk({ v: 1, sid: id, seq: 1, prev: GENESIS_HASH, conn, kind: 'end', at: 1, reason }),
    )}\n`;

  it('hands on idle end chunks appended after it started, once each, and nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drawbridge-watch-'));
    const sink = join(dir, `${id}.jsonl`);
    // Already there at start: seen before a restart, not handed on again.
    await writeFile(sink, end('idle', 'old'));
    const seen: string[] = [];
    const watcher = new RecordingWatcher(dir, (sessionId, conn) =>
      seen.push(`${sessionId} ${conn}`),
    );
    await watcher.start();
    await appendFile(sink, end('exit', 'c1'));
    // half a line, then the rest: only whole lines are read
    const line = end('idle', 'c2');
    await appendFile(sink, line.slice(0, 20));
    await watcher.scan();
    expect(seen).toEqual([]);
    await appendFile(sink, line.slice(20));
    await watcher.scan();
    await watcher.scan();
    watcher.stop();
    expect(seen).toEqual([`${id} c2`]);
  });
});
