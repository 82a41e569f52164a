import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconnects } from '../../cli/eice.ts';
import { runCli } from '../support/cli.ts';
import { ALICE_PUBLIC_KEY } from '../support/sessions.ts';

const ID = 's-0123456789abcdefghjk';
const INSTANCE = 'i-0aaaaaaaaaaaaaaa1';
const ENDPOINT = 'eice-0bbbbbbbbbbbbbbb2';
const DNS = 'eice-0bbbbbbbbbbbbbbb2.12345678.ec2-instance-connect-endpoint.eu-west-1.amazonaws.com';
const FIRST = {
  accessKeyId: 'ASIAFIRSTKEYID000001',
  secretAccessKey: 'wJalrXUtnFEMI-FIRST-SECRETVALUE',
  sessionToken: 'FwoGZXIvYXdzFIRSTSESSIONTOKEN',
};
const SECOND = {
  accessKeyId: 'ASIASECONDKEYID00002',
  secretAccessKey: 'wJalrXUtnFEMI-SECOND-SECRETVALUE',
  sessionToken: 'FwoGZXIvYXdzSECONDSESSIONTOKEN',
};
const FUTURE = '2099-11-24T09:30:05.000Z';

const VIEW = {
  id: ID,
  status: 'READY',
  target: 'app-host',
  mode: 'eice',
  owner: 'alice',
  sourceCidr: '203.0.113.7/32',
  reason: 'INC-42',
  durationMinutes: 30,
  createdAt: '2026-11-24T09:00:00.000Z',
  readyAt: '2026-11-24T09:00:01.000Z',
  expiresAt: FUTURE,
  links: {
    self: `/sessions/${ID}`,
    events: `/sessions/${ID}/events`,
    credentials: `/sessions/${ID}/credentials`,
  },
};

type Secret = typeof FIRST;

function answer(secret: Secret, ssh: boolean, expiresAt = FUTURE) {
  return {
    sessionId: ID,
    expiresAt,
    credentials: { ...secret, expiration: '2099-11-24T09:15:00.000Z' },
    sourceIdentity: 'alice',
    connect: {
      region: 'eu-west-1',
      instanceId: INSTANCE,
      endpointId: ENDPOINT,
      endpointDns: DNS,
      privateIpAddress: '10.0.3.4',
      remotePort: ssh ? 22 : 5432,
      ...(ssh ? { osUser: 'ec2-user' } : {}),
      sendSshPublicKey: ssh,
      maxTunnelSeconds: 1500,
      openUntil: '2099-11-24T09:05:00.000Z',
      localPort: ssh ? 10022 : 5432,
    },
    commands: {},
  };
}

let root: string;
let bin: string;
let log: string;
let keyFile: string;
let requests: { method: string; path: string }[];
let answers: ReturnType<typeof answer>[];

const fakeFetch: typeof fetch = async (input, init) => {
  const url = new URL(
    typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
  );
  const method = init?.method ?? 'GET';
  requests.push({ method, path: url.pathname });
  if (method === 'POST' && url.pathname === '/sessions')
    return Response.json(VIEW, { status: 202 });
  if (method === 'POST' && url.pathname === `/sessions/${ID}/credentials`) {
    const next = answers.shift();
    if (!next) {
      return Response.json(
        { error: { code: 'conflict', message: 'the window is too close to its end' } },
        { status: 409 },
      );
    }
    return Response.json(next);
  }
  if (method === 'GET' && url.pathname === `/sessions/${ID}`) return Response.json(VIEW);
  if (method === 'DELETE' && url.pathname === `/sessions/${ID}`)
    return Response.json({ ...VIEW, status: 'ENDED', endReason: 'revoked' });
  return Response.json({ error: { code: 'not_found', message: 'no' } }, { status: 404 });
};

/**
 * Stand-ins for the AWS CLI and ssh, on a PATH that holds nothing else (sh builtins only).
 * Each call writes its argument vector (one per line) and the AWS variables of its environment
 * to $FAKE_LOG/<name>.<n>.{argv,env}. open-tunnel exits with the next code of
 * $FAKE_TUNNEL_EXITS; ssh runs its ProxyCommand as ssh would and exits 255 when it fails.
 */
const RECORD = `
n=0; [ -f "$FAKE_LOG/$name.n" ] && read n < "$FAKE_LOG/$name.n"; n=$((n+1))
printf '%s\\n' "$n" > "$FAKE_LOG/$name.n"
printf '%s\\n' "$@" > "$FAKE_LOG/$name.$n.argv"
printf 'AWS_ACCESS_KEY_ID=%s\\nAWS_SECRET_ACCESS_KEY=%s\\nAWS_SESSION_TOKEN=%s\\nAWS_REGION=%s\\nAWS_PROFILE=%s\\n' \\
  "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_REGION" "$AWS_PROFILE" \\
  > "$FAKE_LOG/$name.$n.env"
`;
const FAKE_AWS = `#!/bin/sh
name=aws
${RECORD}
if [ "$2" = open-tunnel ]; then
  t=0; [ -f "$FAKE_LOG/tunnel.n" ] && read t < "$FAKE_LOG/tunnel.n"; t=$((t+1))
  printf '%s\\n' "$t" > "$FAKE_LOG/tunnel.n"
  set -- $FAKE_TUNNEL_EXITS
  shift $((t-1))
  exit "$1"
fi
exit 0
`;
const FAKE_SSH = `#!/bin/sh
name=ssh
${RECORD}
for a in "$@"; do
  case "$a" in ProxyCommand=*) proxy="\${a#ProxyCommand=}";; esac
done
/bin/sh -c "$proxy" </dev/null || exit 255
exit 0
`;

async function install(name: string, text: string): Promise<void> {
  const file = join(bin, name);
  await writeFile(file, text);
  await chmod(file, 0o755);
}

async function recorded(name: string): Promise<{ argv: string[]; env: Record<string, string> }[]> {
  const count = Number((await readFile(join(log, `${name}.n`), 'utf8').catch(() => '0')).trim());
  const calls = [];
  for (let n = 1; n <= count; n += 1) {
    const argv = (await readFile(join(log, `${name}.${n}.argv`), 'utf8')).split('\n').slice(0, -1);
    const env = Object.fromEntries(
      (await readFile(join(log, `${name}.${n}.env`), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    calls.push({ argv, env });
  }
  return calls;
}

/** Every file under `dir`, read, except the stand-ins' own records. */
async function everythingWritten(dir: string): Promise<string> {
  let text = '';
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && !path.startsWith(log)) text += await readFile(path, 'utf8');
  }
  return text;
}

function cli(args: string[], tunnelExits = '0', withKey = true) {
  return runCli(
    [
      'open',
      'app-host',
      '--reason',
      'INC-42',
      ...(withKey ? ['--key', keyFile] : []),
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
        FAKE_LOG: log,
        FAKE_TUNNEL_EXITS: tunnelExits,
      },
      cwd: root,
      fetch: fakeFetch,
      spawn,
    },
  );
}

const tunnelArgv = (maxTunnelSeconds: number, port = 22) => [
  'ec2-instance-connect',
  'open-tunnel',
  '--region',
  'eu-west-1',
  '--instance-connect-endpoint-id',
  ENDPOINT,
  '--instance-connect-endpoint-dns-name',
  DNS,
  '--private-ip-address',
  '10.0.3.4',
  '--remote-port',
  String(port),
  '--max-tunnel-duration',
  String(maxTunnelSeconds),
];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-eice-cli-'));
  bin = join(root, 'bin');
  log = join(root, 'log');
  await mkdir(bin);
  await mkdir(log);
  // The user's own key pair: the private half beside the public one, as ssh-keygen leaves it.
  keyFile = join(root, 'id_ed25519.pub');
  await writeFile(keyFile, `${ALICE_PUBLIC_KEY}\n`);
  await writeFile(join(root, 'id_ed25519'), 'not read by drawbridge\n', { mode: 0o600 });
  requests = [];
  answers = [];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('drawbridge open <eice target> --connect', () => {
  it('pushes the key, then runs ssh through open-tunnel, with the credentials in the environment only', async () => {
    await install('aws', FAKE_AWS);
    await install('ssh', FAKE_SSH);
    answers = [answer(FIRST, true)];
    const run = await cli(['--connect']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      `connecting to ec2-user@${INSTANCE} through EC2 Instance Connect Endpoint ${ENDPOINT}`,
    );
    // Leaving ends the session, as on the ssm path.
    expect(requests).toEqual([
      { method: 'POST', path: '/sessions' },
      { method: 'POST', path: `/sessions/${ID}/credentials` },
      { method: 'GET', path: `/sessions/${ID}` },
      { method: 'DELETE', path: `/sessions/${ID}` },
    ]);

    const aws = await recorded('aws');
    expect(aws.map((call) => call.argv)).toEqual([
      [
        'ec2-instance-connect',
        'send-ssh-public-key',
        '--region',
        'eu-west-1',
        '--instance-id',
        INSTANCE,
        '--instance-os-user',
        'ec2-user',
        '--ssh-public-key',
        `file://${join(root, 'id_ed25519.pub')}`,
      ],
      tunnelArgv(1500),
    ]);
    const ssh = await recorded('ssh');
    expect(ssh.map((call) => call.argv)).toEqual([
      [
        '-i',
        join(root, 'id_ed25519'),
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        `HostKeyAlias=${INSTANCE}`,
        '-o',
        `ProxyCommand=aws ${tunnelArgv(1500).join(' ')}`,
        `ec2-user@${INSTANCE}`,
      ],
    ]);
    // The grant reaches aws (through ssh's ProxyCommand too), and the corporate profile does not.
    for (const call of [...aws, ...ssh]) {
      expect(call.env).toEqual({
        AWS_ACCESS_KEY_ID: FIRST.accessKeyId,
        AWS_SECRET_ACCESS_KEY: FIRST.secretAccessKey,
        AWS_SESSION_TOKEN: FIRST.sessionToken,
        AWS_REGION: 'eu-west-1',
        AWS_PROFILE: '',
      });
    }
    const argvText = [...aws, ...ssh].flatMap((call) => call.argv).join('\n');
    const output = run.stdout + run.stderr;
    const written = await everythingWritten(root);
    for (const secret of [FIRST.secretAccessKey, FIRST.sessionToken, FIRST.accessKeyId]) {
      expect(argvText).not.toContain(secret);
      expect(output).not.toContain(secret);
      expect(written).not.toContain(secret);
    }
  });

  it('a tunnel that closes before the window ends is reopened with fresh credentials and a fresh key push', async () => {
    await install('aws', FAKE_AWS);
    await install('ssh', FAKE_SSH);
    answers = [
      answer(FIRST, true),
      {
        ...answer(SECOND, true),
        connect: { ...answer(SECOND, true).connect, maxTunnelSeconds: 1200 },
      },
    ];
    // The first tunnel ends (ssh sees its connection closed: 255), the second one is left cleanly.
    const run = await cli(['--connect', '--keep'], '1 0');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('reconnecting with fresh credentials (2)');
    expect(requests).toEqual([
      { method: 'POST', path: '/sessions' },
      { method: 'POST', path: `/sessions/${ID}/credentials` },
      { method: 'POST', path: `/sessions/${ID}/credentials` },
      { method: 'GET', path: `/sessions/${ID}` },
    ]);
    const aws = await recorded('aws');
    expect(aws.map((call) => call.argv[1])).toEqual([
      'send-ssh-public-key',
      'open-tunnel',
      'send-ssh-public-key',
      'open-tunnel',
    ]);
    // The second tunnel asks for what the second grant allows, with the second grant.
    expect(aws[3]?.argv).toEqual(tunnelArgv(1200));
    expect(aws.map((call) => call.env.AWS_ACCESS_KEY_ID)).toEqual([
      FIRST.accessKeyId,
      FIRST.accessKeyId,
      SECOND.accessKeyId,
      SECOND.accessKeyId,
    ]);
    expect((await recorded('ssh')).map((call) => call.env.AWS_SESSION_TOKEN)).toEqual([
      FIRST.sessionToken,
      SECOND.sessionToken,
    ]);
  });

  it('does not reconnect once the window is over', async () => {
    await install('aws', FAKE_AWS);
    await install('ssh', FAKE_SSH);
    answers = [answer(FIRST, true, '2020-01-01T00:00:00.000Z'), answer(SECOND, true)];
    const run = await cli(['--connect', '--keep'], '1 0');
    expect(run.code).toBe(255);
    expect(run.stderr).not.toContain('reconnecting');
    expect(requests.filter((r) => r.path.endsWith('/credentials'))).toHaveLength(1);
    expect((await recorded('aws')).map((call) => call.argv[1])).toEqual([
      'send-ssh-public-key',
      'open-tunnel',
    ]);
  });

  it('runs a local port forward for a non-SSH port, reopening it when the tunnel ends, and pushes no key', async () => {
    await install('aws', FAKE_AWS);
    answers = [answer(FIRST, false), answer(SECOND, false)];
    // The forward ends once (the tunnel's duration), then the person stops it (exit 130 via
    // Ctrl-C is not reproducible here; the second answer runs out and the 409 ends the loop).
    const run = await cli(['--connect', '--local-port', '15432'], '0 0');
    expect(run.stderr).toContain(
      `forwarding 127.0.0.1:15432 to 10.0.3.4:5432 through EC2 Instance Connect Endpoint ${ENDPOINT}`,
    );
    expect(run.stderr).toContain('no fresh credentials: the window is too close to its end');
    const aws = await recorded('aws');
    expect(aws.map((call) => call.argv)).toEqual([
      [...tunnelArgv(1500, 5432), '--local-port', '15432'],
      [...tunnelArgv(1500, 5432), '--local-port', '15432'],
    ]);
    expect(aws.map((call) => call.env.AWS_SECRET_ACCESS_KEY)).toEqual([
      FIRST.secretAccessKey,
      SECOND.secretAccessKey,
    ]);
    expect(run.code).toBe(0);
    expect(requests.at(-1)).toEqual({ method: 'DELETE', path: `/sessions/${ID}` });
  });

  it("with a key drawbridge made, pushes that key and keeps the host key in the session's own file", async () => {
    await install('aws', FAKE_AWS);
    await install('ssh', FAKE_SSH);
    answers = [answer(FIRST, true)];
    const run = await cli(['--connect', '--keep'], '0', false);
    expect(run.code).toBe(0);
    const dir = join(root, 'config', 'drawbridge', 'keys', ID);
    const push = (await recorded('aws'))[0]?.argv ?? [];
    expect(push.at(-1)).toBe(`file://${join(dir, 'id_ed25519.pub')}`);
    expect((await recorded('ssh'))[0]?.argv.slice(0, 10)).toEqual([
      '-i',
      join(dir, 'id_ed25519'),
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `HostKeyAlias=${INSTANCE}`,
      '-o',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=accept-new',
    ]);
    // --keep: the session and its key stay for the rest of the window
    expect(await readFile(join(dir, 'expires-at'), 'utf8')).toBe(`${FUTURE}\n`);
  });

  it('says what to install when the AWS CLI is missing, and runs nothing', async () => {
    await install('ssh', FAKE_SSH);
    answers = [answer(FIRST, true)];
    const run = await cli(['--connect']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'the AWS CLI (aws) is not on PATH: install AWS CLI v2, https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html',
    );
    expect(await recorded('ssh')).toEqual([]);
  });
});

describe('drawbridge open <eice target> without --connect', () => {
  it('writes a private profile and prints the push, ssh and tunnel lines, never the secret', async () => {
    answers = [answer(FIRST, true)];
    const run = await cli([]);
    expect(run.code).toBe(0);
    const dir = join(root, 'config', 'drawbridge', 'eice', ID);
    const file = join(dir, 'credentials');
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toContain(`aws_session_token = ${FIRST.sessionToken}`);
    expect(run.stdout).toContain(
      `AWS_SHARED_CREDENTIALS_FILE=${file} aws ec2-instance-connect send-ssh-public-key --region eu-west-1 --instance-id ${INSTANCE} --instance-os-user ec2-user --ssh-public-key file://${keyFile} --profile drawbridge`,
    );
    expect(run.stdout).toContain(
      `AWS_SHARED_CREDENTIALS_FILE=${file} ssh -i ${join(root, 'id_ed25519')} -o IdentitiesOnly=yes -o HostKeyAlias=${INSTANCE} -o "ProxyCommand=aws ${tunnelArgv(1500).join(' ')} --profile drawbridge" ec2-user@${INSTANCE}`,
    );
    expect(run.stdout).toContain('opened before 2099-11-24T09:05:00.000Z, each at most 1500s');
    for (const secret of Object.values(FIRST))
      expect(run.stdout + run.stderr).not.toContain(secret);
    expect(run.stderr).toContain('the AWS CLI (aws) is not on PATH');

    answers = [answer(FIRST, false)];
    const asJson = await cli(['--json', '--local-port', '15432']);
    expect(asJson.code).toBe(0);
    const parsed = JSON.parse(asJson.stdout) as {
      eice: { credentialsFile: string; commands: Record<string, string[]> };
    };
    expect(parsed.eice.credentialsFile).toBe(file);
    expect(parsed.eice.commands).toEqual({
      portForward: [
        'aws',
        ...tunnelArgv(1500, 5432),
        '--local-port',
        '15432',
        '--profile',
        'drawbridge',
      ],
    });
    for (const secret of Object.values(FIRST)) expect(asJson.stdout).not.toContain(secret);
  });
});

describe('reconnects', () => {
  const at = Date.parse('2026-11-24T09:10:00.000Z');
  const end = Date.parse('2026-11-24T09:30:00.000Z');
  const exit = (
    code: number | null,
    signal: NodeJS.Signals | null = null,
    interrupted = false,
  ) => ({
    code,
    signal,
    interrupted,
  });

  it('reopens an ssh connection only when ssh itself lost it (255), before the end', () => {
    expect(reconnects(true, exit(255), at, end)).toBe(true);
    expect(reconnects(true, exit(0), at, end)).toBe(false);
    // the remote shell's own status: the person left
    expect(reconnects(true, exit(1), at, end)).toBe(false);
    expect(reconnects(true, exit(255), end, end)).toBe(false);
    expect(reconnects(true, exit(255, null, true), at, end)).toBe(false);
    expect(reconnects(true, exit(null, 'SIGINT'), at, end)).toBe(false);
  });

  it('reopens a port forward whenever it ends before the end, unless interrupted', () => {
    expect(reconnects(false, exit(0), at, end)).toBe(true);
    expect(reconnects(false, exit(255), at, end)).toBe(true);
    expect(reconnects(false, exit(0), end + 1, end)).toBe(false);
    expect(reconnects(false, exit(130, null, true), at, end)).toBe(false);
    expect(reconnects(false, exit(0), at, Number.NaN)).toBe(false);
  });
});
