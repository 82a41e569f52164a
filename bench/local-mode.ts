// Local mode figures with real processes: request → connectable sshd, expiry → sshd gone,
// and 50 live sessions at once (memory of the orchestrator and of each sshd).
// Usage: node bench/local-mode.ts [sessions] [expiring]
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalOrchestrator } from '../lib/local/local-orchestrator.ts';
import { SshdProvider } from '../lib/local/sshd-provider.ts';
import { silentLogger } from '../lib/ports/logger.ts';
import {
  apiClient,
  type ConnectionInfo,
  tempDir,
  writeLocalPolicy,
} from '../test/support/local-mode.ts';
import { echoThroughBastion, makeClientKey, startEchoServer } from '../test/support/ssh.ts';
import { mib, ms, percentile, printTable } from './stats.ts';

const sessions = Number(process.argv[2] ?? 50);
const expiring = Number(process.argv[3] ?? 10);

/** Resolves when the port sends an SSH banner; rejects when the connection is refused. */
function sshBanner(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    socket.setTimeout(2000);
    socket.once('data', (data) => {
      socket.destroy();
      if (data.toString('latin1').startsWith('SSH-')) resolve();
      else reject(new Error('not ssh'));
    });
    socket.once('error', reject);
    // Accepted and closed without a banner (sshd going away mid-handshake) counts as gone.
    socket.once('close', () => reject(new Error('closed without a banner')));
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error('timeout'));
    });
  });
}

const rssOf = (pid: number): number => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
};

const dataDir = await tempDir('bench');
const target = await startEchoServer();
const key = await makeClientKey(dataDir);
const orchestrator = await startLocalOrchestrator({
  dataDir,
  policyFile: await writeLocalPolicy(dataDir, target.port, sessions + expiring),
  logger: silentLogger,
  watchIntervalMs: 1000,
});
const alice = apiClient(orchestrator.url, await orchestrator.signIn('alice'));

// 1. Request → connectable, one session at a time.
const toConnectable: number[] = [];
const opened: { id: string; connection: ConnectionInfo }[] = [];
for (let index = 0; index < sessions; index += 1) {
  const started = performance.now();
  const created = await alice.open(key.publicKey, 30);
  const id = String(created.body.id);
  let view = created;
  while (view.body.status !== 'READY') {
    if (view.body.status === 'FAILED') throw new Error(String(view.body.failureReason));
    await sleep(5);
    view = await alice.get(id);
  }
  const connection = view.body.connection as ConnectionInfo;
  await sshBanner(connection.bastion.host, connection.bastion.port);
  toConnectable.push(performance.now() - started);
  opened.push({ id, connection });
}
printTable(`Request to connectable sshd (POST → READY → SSH banner), ${sessions} sessions`, [
  {
    p50: ms(percentile(toConnectable, 50)),
    p95: ms(percentile(toConnectable, 95)),
    max: ms(Math.max(...toConnectable)),
    target: 'p50 < 500 ms',
  },
]);

// 2. All of them live at once: every one carries data with the real ssh client.
let connectable = 0;
for (let batch = 0; batch < opened.length; batch += 10) {
  const outcomes = await Promise.all(
    opened.slice(batch, batch + 10).map(({ connection }) =>
      echoThroughBastion({
        bastionHost: connection.bastion.host,
        bastionPort: connection.bastion.port,
        user: connection.bastion.user,
        privateKeyPath: key.privateKeyPath,
        targetHost: '127.0.0.1',
        targetPort: target.port,
      }),
    ),
  );
  connectable += outcomes.filter((outcome) => outcome.ok).length;
}
const owned = await new SshdProvider({ dataDir }).listOwned();
const sshdRss = owned.map((resource) => rssOf(Number(resource.id)));
printTable(`${sessions} live sessions at once`, [
  {
    connectable: `${connectable}/${sessions}`,
    'orchestrator RSS (incl. dynalite)': mib(process.memoryUsage().rss),
    'sshd RSS p50': mib(percentile(sshdRss, 50)),
    'sshd RSS max': mib(Math.max(...sshdRss)),
    'sshd RSS total': mib(sshdRss.reduce((a, b) => a + b, 0)),
  },
]);
for (const { id } of opened) await alice.end(id);

// 3. Expiry → sshd gone and connection refused (layer 2 timers; one-minute windows).
const shortLived: { expiresAt: number; connection: ConnectionInfo }[] = [];
for (let index = 0; index < expiring; index += 1) {
  const id = String((await alice.open(key.publicKey, 1)).body.id);
  const ready = await alice.settle(id);
  shortLived.push({
    expiresAt: Date.parse(String(ready.body.expiresAt)),
    connection: ready.body.connection as ConnectionInfo,
  });
}
const gone = await Promise.all(
  shortLived.map(async ({ expiresAt, connection }) => {
    await sleep(Math.max(0, expiresAt - Date.now() - 200));
    for (;;) {
      try {
        await sshBanner(connection.bastion.host, connection.bastion.port);
        await sleep(10);
      } catch {
        return Date.now() - expiresAt;
      }
    }
  }),
);
printTable(`Expiry to sshd gone and connection refused, ${expiring} sessions`, [
  { p50: ms(percentile(gone, 50)), max: ms(Math.max(...gone)), target: '< 2 s' },
]);

await orchestrator.stop();
await target.close();
