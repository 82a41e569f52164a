import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../../cli/api-client.ts';
import { checkBastionHostKey, forwardArgs, pinHostKey } from '../../cli/ssh.ts';
import { issueHostKey } from '../../lib/domain/host-key.ts';
import { freePort } from '../../lib/local/free-port.ts';
import {
  type LocalOrchestrator,
  startLocalOrchestrator,
} from '../../lib/local/local-orchestrator.ts';
import { SshdProvider } from '../../lib/local/sshd-provider.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import { apiClient, tempDir, writeLocalPolicy } from '../support/local-mode.ts';
import { type EchoServer, makeClientKey, startEchoServer } from '../support/ssh.ts';

const execFileAsync = promisify(execFile);

let dataDir: string;
let orchestrator: LocalOrchestrator;
let target: EchoServer;

beforeAll(async () => {
  dataDir = await tempDir('hostkey');
  target = await startEchoServer();
  orchestrator = await startLocalOrchestrator({
    dataDir,
    policyFile: await writeLocalPolicy(dataDir, target.port),
    logger: silentLogger,
    watchIntervalMs: 250,
  });
});

afterAll(async () => {
  await orchestrator?.stop();
  await target?.close();
  const provider = new SshdProvider({ dataDir });
  for (const resource of await provider.listOwned()) await provider.destroy(resource);
});

/** ssh -N -L through the bastion as the CLI runs it, stopped once it is up (or has failed). */
async function sshThrough(connection: Connection, identityFile: string, knownHostsFile: string) {
  const localPort = await freePort('127.0.0.1');
  const args = forwardArgs(connection, localPort, { identityFile, knownHostsFile }).map((arg) =>
    arg === '-N' ? '-T' : arg,
  );
  // `-T … true` instead of -N: the session ends by itself once ssh got in (jump-only refuses
  // the command, after authentication, which is all this needs to see).
  try {
    const { stderr } = await execFileAsync('ssh', [...args, '-o', 'BatchMode=yes', 'true'], {
      timeout: 15_000,
    });
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? '' };
  }
}

describe('the CLI pins the host key Drawbridge issued (local mode, real sshd)', () => {
  it('connects to the bastion it was told about, and refuses it once its host key is swapped', async () => {
    const key = await makeClientKey(dataDir);
    const alice = apiClient(orchestrator.url, await orchestrator.signIn('alice'));
    const created = await alice.open(key.publicKey, 10);
    const ready = await alice.settle(String(created.body.id));
    expect(ready.body.status).toBe('READY');
    const id = String(ready.body.id);
    const connection = ready.body.connection as Connection;
    const knownHostsFile = join(dataDir, 'client', id, 'known_hosts');
    await pinHostKey(connection, knownHostsFile);
    expect(await readFile(knownHostsFile, 'utf8')).toBe(`${connection.knownHosts}\n`);

    await expect(checkBastionHostKey(connection, id)).resolves.toBeUndefined();
    const before = await sshThrough(connection, key.privateKeyPath, knownHostsFile);
    expect(before.stderr).not.toMatch(/Host key verification failed/);

    // Someone else's key under the live session: sshd re-reads its host key on SIGHUP.
    const hostKeyPath = join(dataDir, 'sessions', id, 'ssh_host_ed25519_key');
    const impostor = issueHostKey();
    await writeFile(hostKeyPath, impostor.privateKey, { mode: 0o600 });
    const pid = Number((await readFile(join(dataDir, 'sessions', id, 'sshd.pid'), 'utf8')).trim());
    process.kill(pid, 'SIGHUP');
    await expect
      .poll(
        async () =>
          (
            await execFileAsync('ssh-keyscan', [
              '-t',
              'ed25519',
              '-p',
              String(connection.bastion.port),
              '127.0.0.1',
            ])
          ).stdout,
        { timeout: 5_000 },
      )
      .toContain(impostor.publicKey);

    await expect(checkBastionHostKey(connection, id)).rejects.toThrow(
      /host key is not the one Drawbridge issued.*refusing to connect/,
    );
    const after = await sshThrough(connection, key.privateKeyPath, knownHostsFile);
    expect(after.code).toBe(255);
    expect(after.stderr).toMatch(/Host key verification failed/);
  });
});
