// Layer 1 moves with an extension in local mode: a real sshd, a real ssh client. A key whose
// expiry-time has passed is refused; the same session after `extend` lets the client in again.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshExpiryTime } from '../../lib/domain/durations.ts';
import { ProvisioningError } from '../../lib/domain/errors.ts';
import type { Connection } from '../../lib/domain/session.ts';
import { findSshd, SshdProvider } from '../../lib/local/sshd-provider.ts';
import { localLaunchPlan } from '../support/local-plan.ts';
import {
  type ClientKey,
  type EchoServer,
  echoThroughBastion,
  makeClientKey,
  startEchoServer,
} from '../support/ssh.ts';

let root: string;
let client: ClientKey;
let echo: EchoServer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-extend-'));
  client = await makeClientKey(root);
  echo = await startEchoServer();
});

afterAll(async () => {
  await echo.close();
  await rm(root, { recursive: true, force: true });
});

describe('SshdProvider.extend', () => {
  it('rewrites the key so a login refused at the old bound works until the new one', async () => {
    const { session, target, policy, keyUntil } = localLaunchPlan({
      host: echo.host,
      port: echo.port,
      publicKey: client.publicKey,
    });
    const provider = new SshdProvider({
      dataDir: join(root, 'data'),
      sshdPath: findSshd() ?? '/usr/sbin/sshd',
    });
    // A bound already passed: what a session looks like past its original key expiry.
    const past = Date.now() - 60_000;
    await provider.launch({
      session,
      target,
      policy,
      authorizedKey: keyUntil(past),
      selfDestructAt: past,
      selfDestructMinutes: 1,
    });
    try {
      const state = await provider.inspect(session);
      if (state.state !== 'running') throw new Error(`the bastion is ${state.state}`);
      const connection: Connection = state.connection;
      const forward = {
        bastionHost: connection.bastionHost,
        bastionPort: connection.bastionPort,
        user: connection.linuxUser,
        privateKeyPath: client.privateKeyPath,
        targetHost: echo.host,
        targetPort: echo.port,
      };
      expect((await echoThroughBastion(forward, 'before\n')).ok).toBe(false);

      const later = Date.now() + 30 * 60_000;
      await provider.extend({
        session,
        target,
        authorizedKey: keyUntil(later),
        selfDestructAt: later,
      });
      const keyFile = await readFile(
        join(root, 'data', 'sessions', session.id, 'authorized_keys'),
        'utf8',
      );
      expect(keyFile).toContain(`expiry-time="${sshExpiryTime(later)}"`);
      expect(keyFile.trim().split('\n')).toHaveLength(1);
      expect(await echoThroughBastion(forward, 'after\n')).toEqual({ ok: true, echoed: 'after\n' });
    } finally {
      await provider.release(session);
    }
    // Released: an extension cannot bring the key back.
    await expect(
      provider.extend({
        session,
        target,
        authorizedKey: keyUntil(Date.now() + 60_000),
        selfDestructAt: 0,
      }),
    ).rejects.toThrow(ProvisioningError);
  });
});
