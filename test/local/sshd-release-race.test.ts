import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findSshd, SshdProvider } from '../../lib/local/sshd-provider.ts';
import { localLaunchPlan } from '../support/local-plan.ts';
import { type ClientKey, makeClientKey } from '../support/ssh.ts';

/** Holds an extension between its checks and its key swap, where a release could slip in. */
const gate = vi.hoisted(() => {
  let open: () => void = () => undefined;
  let reached: () => void = () => undefined;
  const state = {
    armed: false,
    reached: new Promise<void>((resolve) => {
      reached = resolve;
    }),
    opened: new Promise<void>((resolve) => {
      open = resolve;
    }),
    open: () => open(),
    reach: () => reached(),
  };
  return state;
});

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    rename: async (from: string, to: string) => {
      if (gate.armed && from.endsWith('authorized_keys.extend')) {
        gate.reach();
        await gate.opened;
      }
      return actual.rename(from, to);
    },
  };
});

let root: string;
let client: ClientKey;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-race-'));
  client = await makeClientKey(root);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('an extension racing a release of a local bastion', () => {
  it('never brings the key file back once release has run', async () => {
    const { session, target, policy, keyUntil } = localLaunchPlan({
      host: '127.0.0.1',
      port: 9,
      publicKey: client.publicKey,
    });
    const dataDir = join(root, 'data');
    const provider = new SshdProvider({ dataDir, sshdPath: findSshd() ?? '/usr/sbin/sshd' });
    const now = Date.now();
    await provider.launch({
      session,
      target,
      policy,
      authorizedKey: keyUntil(now + 10 * 60_000),
      selfDestructAt: now + 15 * 60_000,
      selfDestructMinutes: 15,
    });

    gate.armed = true;
    const extension = provider.extend({
      session,
      target,
      authorizedKey: keyUntil(now + 40 * 60_000),
      selfDestructAt: now + 45 * 60_000,
    });
    await gate.reached;
    const release = provider.release(session);
    // Give an unserialised release every chance to finish inside the extension's gap.
    await Promise.race([release, new Promise((resolve) => setTimeout(resolve, 1_500))]);
    gate.open();
    await extension.catch(() => undefined);
    await release;

    expect(existsSync(join(dataDir, 'sessions', session.id, 'authorized_keys'))).toBe(false);
    expect(await provider.listOwned()).toEqual([]);
  });
});
