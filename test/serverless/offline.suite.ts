// The README's developer path: `npx osls offline --stage offline` against an AWS-compatible
// endpoint runs the packaged functions' own wiring. Here the endpoint is the project's local
// DynamoDB (lib/local/dynamo-server.ts); one authorized route must answer from the table, not
// 500. Starting osls offline builds every function first: this test takes about 30 s.
// Not a test file of its own: test/serverless/template.test.ts imports it last, so that osls
// never runs twice at once (every osls run writes and cleans the repository's .serverless/
// and .build/, whatever its options).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../../lib/aws/table-definition.ts';
import { type DynamoServer, startDynamo } from '../../lib/local/dynamo-server.ts';
import { isolatedEnv, OSLS_BIN, REPO_ROOT } from './package-once.ts';

const STAGE = 'offline';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A token as the README's users send it: serverless-offline checks iss, aud and exp only. */
function token(): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({
    iss: 'https://issuer.example.com/',
    aud: 'drawbridge',
    sub: 'alice',
    groups: ['dba'],
    iat: now,
    exp: now + 600,
  })}.c2lnbmF0dXJl`;
}

let dynamo: DynamoServer;
let offline: ChildProcess | undefined;
let home: string;
let baseUrl: string;
let output = '';

describe('osls offline (README: running offline against an AWS-compatible endpoint)', () => {
  beforeAll(async () => {
    dynamo = await startDynamo();
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await ensureTable(client, `drawbridge-${STAGE}`);
    client.destroy();

    home = mkdtempSync(join(tmpdir(), 'drawbridge-offline-home-'));
    const [httpPort, lambdaPort, websocketPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    baseUrl = `http://127.0.0.1:${httpPort}`;
    const child = spawn(
      process.execPath,
      [
        OSLS_BIN,
        'offline',
        '--stage',
        STAGE,
        '--httpPort',
        String(httpPort),
        '--lambdaPort',
        String(lambdaPort),
        '--websocketPort',
        String(websocketPort),
      ],
      {
        cwd: REPO_ROOT,
        env: isolatedEnv(home, {
          AWS_ENDPOINT_URL: dynamo.endpoint,
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    offline = child;
    await new Promise<void>((resolve, reject) => {
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Server ready')) resolve();
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      child.on('exit', (code) => reject(new Error(`osls offline exited with ${code}:\n${output}`)));
    });
  }, 180_000);

  afterAll(async () => {
    if (offline?.pid !== undefined && offline.exitCode === null) {
      const exited = new Promise((resolve) => offline?.once('exit', resolve));
      offline.kill('SIGINT');
      await exited;
    }
    await dynamo?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('answers GET /sessions from the table for a signed-in user, and 401 without a token', async () => {
    const response = await fetch(`${baseUrl}/sessions`, {
      headers: { authorization: `Bearer ${token()}` },
    });
    const body = await response.text();
    expect(response.status, `${body}\n${output.slice(-2000)}`).toBe(200);
    expect(JSON.parse(body)).toEqual({ items: [] });
    expect((await fetch(`${baseUrl}/sessions`)).status).toBe(401);
  });
});
