import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/local/free-port.ts';
import { SshdProvider } from '../../lib/local/sshd-provider.ts';
import {
  apiClient,
  type ConnectionInfo,
  signInThroughApi,
  tempDir,
  writeLocalPolicy,
} from '../support/local-mode.ts';
import { type ClientKey, echoThroughBastion, makeClientKey } from '../support/ssh.ts';

/**
 * `npm start` killed with live sessions (SIGKILL: no chance to clean up) and started again:
 * live sessions keep working until their window ends, expired ones are reaped, and no sshd
 * is left behind.
 */
let dataDir: string;
let policyFile: string;
let apiPort: number;
let targetPort: number;
let key: ClientKey;
let running: ChildProcess | undefined;

const REPO = new URL('../../', import.meta.url).pathname;

async function startLocalMode(clockOffsetMs = 0): Promise<string> {
  const localJson = join(dataDir, 'local.json');
  const child = spawn(process.execPath, ['scripts/start-local.ts'], {
    cwd: REPO,
    env: {
      ...process.env,
      DRAWBRIDGE_DATA_DIR: dataDir,
      DRAWBRIDGE_POLICY: policyFile,
      DRAWBRIDGE_PORT: String(apiPort),
      DRAWBRIDGE_CLOCK_OFFSET_MS: String(clockOffsetMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running = child;
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const deadline = Date.now() + 30_000;
  while (!output.includes('Drawbridge local mode is up')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`local mode did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(existsSync(localJson)).toBe(true);
  return (JSON.parse(readFileSync(localJson, 'utf8')) as { url: string }).url;
}

function crash(): Promise<void> {
  const child = running;
  running = undefined;
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

beforeAll(async () => {
  dataDir = await tempDir('restart');
  apiPort = await freePort('127.0.0.1');
  targetPort = await freePort('127.0.0.1');
  policyFile = await writeLocalPolicy(dataDir, targetPort);
  key = await makeClientKey(dataDir);
});

afterAll(async () => {
  await crash();
  const provider = new SshdProvider({ dataDir });
  for (const resource of await provider.listOwned()) await provider.destroy(resource);
});

describe('restart safety', () => {
  it('keeps live sessions, reaps expired ones and leaves no sshd behind', async () => {
    let url = await startLocalMode();
    // Signed in before the crashes: the provider's keys and issuer survive them.
    const tokenFor = await signInThroughApi(url, 'alice');
    const alice = () => apiClient(url, tokenFor);

    const shortId = String((await alice().open(key.publicKey, 1)).body.id);
    const longId = String((await alice().open(key.publicKey, 30)).body.id);
    const short = await alice().settle(shortId);
    const long = await alice().settle(longId);
    expect([short.body.status, long.body.status]).toEqual(['READY', 'READY']);
    const longConnection = long.body.connection as ConnectionInfo;
    const forward = (connection: ConnectionInfo) => ({
      bastionHost: connection.bastion.host,
      bastionPort: connection.bastion.port,
      user: connection.bastion.user,
      privateKeyPath: key.privateKeyPath,
      targetHost: '127.0.0.1',
      targetPort,
    });

    await crash();
    // With the orchestrator dead, the bastions are still up: the engineer keeps working.
    // (The demo target died with the orchestrator; a refused forward still proves sshd answers,
    // so check the sshd processes instead.)
    const owned = await new SshdProvider({ dataDir }).listOwned();
    expect(owned.map((resource) => resource.sessionId).sort()).toEqual([shortId, longId].sort());

    // Stay down past the short session's window: the restarted orchestrator's clock says so
    // (its sshd and their keys keep real time, which is what must survive the restart).
    const shortExpiresAt = Date.parse(String(short.body.expiresAt));
    url = await startLocalMode(Math.max(0, shortExpiresAt - Date.now() + 500));
    expect((await alice().get(shortId)).body).toMatchObject({
      status: 'ENDED',
      endReason: 'expired',
    });
    expect((await alice().get(longId)).body.status).toBe('READY');
    expect((await echoThroughBastion(forward(longConnection), 'after restart\n')).ok).toBe(true);
    const afterRestart = await new SshdProvider({ dataDir }).listOwned();
    expect(afterRestart.map((resource) => resource.sessionId)).toEqual([longId]);

    const ended = await alice().end(longId);
    expect(ended.body.status, JSON.stringify(ended.body)).toBe('ENDED');
    await crash();
    expect(await new SshdProvider({ dataDir }).listOwned()).toEqual([]);
  }, 60_000);
});
