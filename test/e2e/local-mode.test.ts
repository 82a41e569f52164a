import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalOrchestrator,
  startLocalOrchestrator,
} from '../../lib/local/local-orchestrator.ts';
import { SshdProvider } from '../../lib/local/sshd-provider.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import {
  apiClient,
  type ConnectionInfo,
  tempDir,
  writeLocalPolicy,
} from '../support/local-mode.ts';
import {
  type ClientKey,
  type EchoServer,
  echoThroughBastion,
  makeClientKey,
  openForward,
  startEchoServer,
} from '../support/ssh.ts';

/**
 * Local mode end to end, with real processes: the orchestrator over HTTP, dynalite, a real
 * sshd per session and the real ssh client, as an engineer would use them.
 */
let orchestrator: LocalOrchestrator;
let target: EchoServer;
let key: ClientKey;
let dataDir: string;
let alice: ReturnType<typeof apiClient>;
let bob: ReturnType<typeof apiClient>;
/** a one-minute session whose end is checked last, by moving the orchestrator's clock */
let shortId: string;
let shortReadyAt = 0;
/** the orchestrator's time: moved forward instead of waiting for a window to run out */
let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };

beforeAll(async () => {
  dataDir = await tempDir('e2e');
  target = await startEchoServer();
  key = await makeClientKey(dataDir);
  orchestrator = await startLocalOrchestrator({
    dataDir,
    policyFile: await writeLocalPolicy(dataDir, target.port),
    logger: silentLogger,
    users: [
      { name: 'alice', password: 'a', groups: ['dev'] },
      { name: 'bob', password: 'b', groups: ['dev'] },
    ],
    reapIntervalMs: 60_000,
    watchIntervalMs: 250,
    clock,
  });
  alice = apiClient(orchestrator.url, await orchestrator.signIn('alice'));
  bob = apiClient(orchestrator.url, await orchestrator.signIn('bob'));
  const short = await alice.open(key.publicKey, 1);
  shortId = String(short.body.id);
  const ready = await alice.settle(shortId);
  shortReadyAt = Date.parse(String(ready.body.readyAt));
});

afterAll(async () => {
  await orchestrator?.stop();
  await target?.close();
  // Nothing this data directory started may outlive the test.
  const provider = new SshdProvider({ dataDir });
  for (const resource of await provider.listOwned()) await provider.destroy(resource);
});

const forwardTo = (
  connection: ConnectionInfo,
  overrides: Partial<Parameters<typeof openForward>[0]> = {},
) => ({
  bastionHost: connection.bastion.host,
  bastionPort: connection.bastion.port,
  user: connection.bastion.user,
  privateKeyPath: key.privateKeyPath,
  targetHost: '127.0.0.1',
  targetPort: target.port,
  ...overrides,
});

async function openReady(
  client = alice,
  minutes = 10,
): Promise<{ id: string; connection: ConnectionInfo }> {
  const created = await client.open(key.publicKey, minutes);
  expect(created.status).toBe(202);
  const ready = await client.settle(String(created.body.id));
  expect(ready.body.status).toBe('READY');
  return { id: String(ready.body.id), connection: ready.body.connection as ConnectionInfo };
}

describe('local mode, end to end', () => {
  it('gives alice a bastion that carries data to the target, and nothing else, and logs it', async () => {
    const { id, connection } = await openReady();
    const through = await echoThroughBastion(forwardTo(connection), 'hello through drawbridge\n');
    expect(through).toEqual({
      ok: true,
      echoed: expect.stringContaining('hello through drawbridge'),
    });

    const elsewhere = await echoThroughBastion(
      forwardTo(connection, { targetPort: orchestratorPort() }),
    );
    expect(elsewhere.ok).toBe(false);

    // The events show who connected, from where, and the forward that was refused.
    const history = await alice.events(id);
    const connections = history.body.connections as {
      kind: string;
      address: string;
      target?: string;
    }[];
    expect(connections).toContainEqual(
      expect.objectContaining({ kind: 'authenticated', address: '127.0.0.1' }),
    );
    expect(connections).toContainEqual(
      expect.objectContaining({
        kind: 'refused-forward',
        address: '127.0.0.1',
        target: `127.0.0.1:${orchestratorPort()}`,
      }),
    );
  });

  it('refuses the same key from another source address (127.0.0.2)', async () => {
    const { connection } = await openReady();
    const outcome = await echoThroughBastion(forwardTo(connection, { bindAddress: '127.0.0.2' }));
    expect(outcome.ok).toBe(false);
  });

  it("answers 404 when bob reads or ends alice's session, and leaves it alone", async () => {
    const { id, connection } = await openReady();
    expect((await bob.get(id)).status).toBe(404);
    expect((await bob.end(id)).status).toBe(404);
    expect((await bob.events(id)).status).toBe(404);
    expect((await echoThroughBastion(forwardTo(connection))).ok).toBe(true);
  });

  it('cuts an open connection when the session is ended, and refuses new ones', async () => {
    const { id, connection } = await openReady();
    const forward = openForward(forwardTo(connection));
    await expect(forward.roundTrip('still here\n')).resolves.toContain('still here');
    const ended = await alice.end(id);
    expect(ended.body).toMatchObject({ status: 'ENDED', endReason: 'revoked' });
    expect(await forward.exited).not.toBe(0);
    expect((await echoThroughBastion(forwardTo(connection))).ok).toBe(false);
    const events = await alice.events(id);
    const items = events.body.items as {
      type: string;
      actor: string;
      detail?: Record<string, unknown>;
    }[];
    // The cloud's path: launch recorded (attach), then the bastion's readiness proof in its
    // own log makes it READY, not the launch call returning (nor the running signal, which
    // is recorded as a phase when it is handled before the proof).
    expect(items.map((event) => event.type).filter((type) => type !== 'running')).toEqual([
      'requested',
      'provision',
      'attach',
      'ready',
      'end',
      'ended',
    ]);
    expect(items.find((event) => event.type === 'ready')?.detail).toMatchObject({
      via: 'readiness-proof',
    });
  });

  it('notices an sshd killed from outside and marks the session ENDED', async () => {
    const { id } = await openReady();
    const [resource] = (await new SshdProvider({ dataDir }).listOwned()).filter(
      (owned) => owned.sessionId === id,
    );
    expect(resource).toBeDefined();
    process.kill(-Number(resource?.id), 'SIGKILL');
    const ended = await alice.waitFor(id, ['ENDED'], 10_000);
    expect(ended.body).toMatchObject({
      endReason: 'failed',
      failureReason: 'the bastion ended outside Drawbridge',
    });
  });

  it('ends the session on time: after the window the sshd is gone and connections are refused', async () => {
    const view = await alice.get(shortId);
    const connection = view.body.connection as ConnectionInfo | undefined;
    expect(view.body.status).toBe('READY');
    expect(Date.parse(String(view.body.expiresAt)) - shortReadyAt).toBe(60_000);
    // The window runs out by the orchestrator's clock, not by a minute of waiting.
    offsetMs = Date.parse(String(view.body.expiresAt)) - Date.now();
    const ended = await alice.waitFor(shortId, ['ENDED'], 10_000);
    expect(ended.body.endReason).toBe('expired');
    // Layer 2 (the local timer) ended it, not the reaper's sweep.
    const events = (await alice.events(shortId)).body.items as { type: string; actor: string }[];
    expect(events.find((event) => event.type === 'end')?.actor).toBe('scheduler');
    if (connection) expect((await echoThroughBastion(forwardTo(connection))).ok).toBe(false);
    const owned = await new SshdProvider({ dataDir }).listOwned();
    expect(owned.map((resource) => resource.sessionId)).not.toContain(shortId);
  });
});

function orchestratorPort(): number {
  return Number(new URL(orchestrator.url).port);
}
