import { appendFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noteIdleDisconnect } from '../../lib/app/idle.ts';
import { GENESIS_HASH } from '../../lib/domain/audit.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import { sealChunk } from '../../lib/domain/recording-chain.ts';
import { RecordingWatcher } from '../../lib/local/recording-watcher.ts';
import { TEST_POLICY_YAML, testWorld } from '../support/fakes.ts';
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
