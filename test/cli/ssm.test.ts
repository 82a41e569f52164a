import { EventEmitter } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SpawnFn } from '../../cli/io.ts';
import { findOnPath } from '../../cli/io.ts';
import { runCli } from '../support/cli.ts';
import { ALICE_PUBLIC_KEY } from '../support/sessions.ts';

const ID = 's-0123456789abcdefghjk';
const INSTANCE = 'i-0aaaaaaaaaaaaaaa1';
const SECRET = {
  accessKeyId: 'ASIAZZZSECRETKEYID99',
  secretAccessKey: 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRETVALUE',
  sessionToken: 'FwoGZXIvYXdzEBYaDSECRETSESSIONTOKENzzzz',
};

const VIEW = {
  id: ID,
  status: 'READY',
  target: 'app-db',
  mode: 'ssm',
  owner: 'alice',
  sourceCidr: '203.0.113.7/32',
  reason: 'INC-42',
  durationMinutes: 30,
  createdAt: '2026-11-24T09:00:00.000Z',
  readyAt: '2026-11-24T09:00:05.000Z',
  expiresAt: '2099-11-24T09:30:05.000Z',
  ssm: {
    instanceId: INSTANCE,
    documents: ['shell', 'port-forwarding'],
    credentials: `/sessions/${ID}/credentials`,
  },
  links: {
    self: `/sessions/${ID}`,
    events: `/sessions/${ID}/events`,
    credentials: `/sessions/${ID}/credentials`,
  },
};

const ANSWER = {
  sessionId: ID,
  expiresAt: '2099-11-24T09:30:05.000Z',
  credentials: { ...SECRET, expiration: '2099-11-24T09:30:05.000Z' },
  sourceIdentity: 'alice',
  connect: {
    instanceId: INSTANCE,
    region: 'eu-west-1',
    documents: {
      shell: 'drawbridge-prod-shell',
      'port-forwarding': 'AWS-StartPortForwardingSession',
    },
    target: { host: '10.0.3.4', port: 5432 },
    viaBastion: false,
    localPort: 5432,
  },
  commands: {},
};

let root: string;
let bin: string;
let keyFile: string;
let requests: { method: string; path: string }[];

const fakeFetch: typeof fetch = async (input, init) => {
  const url = new URL(
    typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
  );
  const method = init?.method ?? 'GET';
  requests.push({ method, path: url.pathname });
  if (method === 'POST' && url.pathname === '/sessions')
    return Response.json(VIEW, { status: 202 });
  if (method === 'POST' && url.pathname === `/sessions/${ID}/credentials`)
    return Response.json(ANSWER);
  if (method === 'GET' && url.pathname === `/sessions/${ID}`) return Response.json(VIEW);
  if (method === 'DELETE' && url.pathname === `/sessions/${ID}`)
    return Response.json({ ...VIEW, status: 'ENDED', endReason: 'revoked' });
  return Response.json({ error: { code: 'not_found', message: 'no' } }, { status: 404 });
};

function recordingSpawn(code = 0) {
  const calls: { command: string; args: string[]; env: Record<string, string | undefined> }[] = [];
  const spawnFn: SpawnFn = (command, args, options) => {
    calls.push({ command, args, env: { ...(options.env as Record<string, string | undefined>) } });
    const child = new EventEmitter();
    setImmediate(() => child.emit('exit', code, null));
    return child;
  };
  return { calls, spawnFn };
}

async function tool(name: string): Promise<void> {
  const file = join(bin, name);
  await writeFile(file, '#!/bin/sh\nexit 0\n');
  await chmod(file, 0o755);
}

function cli(args: string[], spawn?: SpawnFn, env: Record<string, string> = {}) {
  return runCli(
    [
      'open',
      'app-db',
      '--reason',
      'INC-42',
      '--key',
      keyFile,
      '--api',
      'http://api.test',
      '--token',
      't',
      ...args,
    ],
    {
      env: {
        HOME: root,
        XDG_CONFIG_HOME: join(root, 'config'),
        PATH: bin,
        AWS_PROFILE: 'corp-admin',
        ...env,
      },
      cwd: root,
      fetch: fakeFetch,
      spawn,
    },
  );
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-ssm-cli-'));
  bin = join(root, 'bin');
  await mkdir(bin);
  keyFile = join(root, 'id_ed25519.pub');
  await writeFile(keyFile, `${ALICE_PUBLIC_KEY}\n`);
  requests = [];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('drawbridge open <ssm target>', () => {
  it('--connect runs the port forward with the credentials in its environment only', async () => {
    await tool('aws');
    await tool('session-manager-plugin');
    const { calls, spawnFn } = recordingSpawn(0);
    const run = await cli(['--connect', '--local-port', '15432'], spawnFn);
    expect(run.stderr).toContain(
      'forwarding 127.0.0.1:15432 to 10.0.3.4:5432 through Session Manager',
    );
    expect(run.code).toBe(0);
    // Leaving start-session ends the session, as aws ssm start-session users expect.
    expect(requests).toEqual([
      // --local-port: first whether the target is recorded (a recorded one gives no forward)
      { method: 'GET', path: '/targets' },
      { method: 'POST', path: '/sessions' },
      { method: 'POST', path: `/sessions/${ID}/credentials` },
      { method: 'GET', path: `/sessions/${ID}` },
      { method: 'DELETE', path: `/sessions/${ID}` },
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.command).toBe('aws');
    expect(calls[0]?.args).toEqual([
      'ssm',
      'start-session',
      '--region',
      'eu-west-1',
      '--target',
      INSTANCE,
      '--document-name',
      'AWS-StartPortForwardingSession',
      '--parameters',
      'portNumber=5432,localPortNumber=15432',
    ]);
    expect(calls[0]?.env).toMatchObject({
      AWS_ACCESS_KEY_ID: SECRET.accessKeyId,
      AWS_SECRET_ACCESS_KEY: SECRET.secretAccessKey,
      AWS_SESSION_TOKEN: SECRET.sessionToken,
      AWS_REGION: 'eu-west-1',
    });
    // a profile in the environment would win over nothing, but must not compete
    expect(calls[0]?.env.AWS_PROFILE).toBeUndefined();
    expect(run.stdout + run.stderr).not.toContain(SECRET.secretAccessKey);
    // nothing written to disk
    await expect(stat(join(root, 'config', 'drawbridge', 'ssm'))).rejects.toThrow();
  });

  it('--connect --shell opens the shell with the stage document', async () => {
    await tool('aws');
    await tool('session-manager-plugin');
    const { calls, spawnFn } = recordingSpawn(0);
    expect((await cli(['--connect', '--shell'], spawnFn)).code).toBe(0);
    expect(calls[0]?.args).toEqual([
      'ssm',
      'start-session',
      '--region',
      'eu-west-1',
      '--target',
      INSTANCE,
      '--document-name',
      'drawbridge-prod-shell',
    ]);
  });

  it('says clearly which tool is missing and runs nothing', async () => {
    await tool('aws');
    const { calls, spawnFn } = recordingSpawn(0);
    const run = await cli(['--connect'], spawnFn);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'the Session Manager plugin (session-manager-plugin) is not on PATH',
    );
    expect(run.stderr).not.toContain('AWS CLI');
    expect(calls).toEqual([]);
    expect(await findOnPath('aws', { PATH: bin })).toBe(join(bin, 'aws'));
    expect(await findOnPath('aws', { PATH: 'relative/bin' })).toBeUndefined();
  });

  it('without --connect writes a private profile and prints the lines that use it, never the secret', async () => {
    const run = await cli(['--local-port', '15432']);
    expect(run.code).toBe(0);
    const dir = join(root, 'config', 'drawbridge', 'ssm', ID);
    const file = join(dir, 'credentials');
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(
      `[drawbridge]\naws_access_key_id = ${SECRET.accessKeyId}\naws_secret_access_key = ${SECRET.secretAccessKey}\naws_session_token = ${SECRET.sessionToken}\n`,
    );
    expect(run.stdout).toContain(
      `AWS_SHARED_CREDENTIALS_FILE=${file} aws ssm start-session --region eu-west-1 --target ${INSTANCE} --document-name AWS-StartPortForwardingSession --parameters portNumber=5432,localPortNumber=15432 --profile drawbridge`,
    );
    expect(run.stdout).toContain('--document-name drawbridge-prod-shell --profile drawbridge');
    for (const secret of Object.values(SECRET))
      expect(run.stdout + run.stderr).not.toContain(secret);
    // no aws or plugin on PATH: said, but not fatal without --connect
    expect(run.stderr).toContain('the AWS CLI (aws) is not on PATH');

    const asJson = await cli(['--json', '--local-port', '15432']);
    expect(asJson.code).toBe(0);
    const parsed = JSON.parse(asJson.stdout) as {
      ssm: { credentialsFile: string; profile: string };
    };
    expect(parsed.ssm).toMatchObject({ credentialsFile: file, profile: 'drawbridge' });
    for (const secret of Object.values(SECRET)) expect(asJson.stdout).not.toContain(secret);
  });
});
