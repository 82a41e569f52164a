import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, crc32, gunzipSync, inflateSync } from 'node:zlib';
import {
  internalError,
  type JsonObject,
  Mutex,
  type Reply,
  TransactionEngine,
} from './dynamo-transactions.ts';

/**
 * A local DynamoDB for tests and local mode: dynalite (the DynamoDB API over LevelDB) behind
 * a small front server that adds what dynalite lacks — TransactWriteItems and
 * TransactGetItems (see dynamo-transactions.ts) — and serializes every write so those
 * transactions are atomic with respect to other writers. Reads go straight through and are
 * not isolated from a transaction in flight; that is the one way this differs from DynamoDB
 * that a careful reader could notice.
 */

export interface DynamoServerOptions {
  /** LevelDB directory to persist to; in memory when absent */
  path?: string;
  /** front port; 0 (the default) picks a free one */
  port?: number;
  /** front address; 127.0.0.1 by default */
  host?: string;
}

export interface DynamoServer {
  /** e.g. http://127.0.0.1:54321, for the SDK's `endpoint` */
  endpoint: string;
  close(): Promise<void>;
}

interface DynaliteOptions {
  path?: string;
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
// Table changes go under the mutex too, and invalidate the key schemas the engine caches.
const TABLE_CHANGES = new Set(['CreateTable', 'DeleteTable', 'UpdateTable']);
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'proxy-authorization',
  'proxy-connection',
  'content-length',
  'host',
]);

// dynalite insists on the shape of a SigV4 header but never checks the signature.
const INTERNAL_AUTH = {
  authorization:
    'AWS4-HMAC-SHA256 Credential=local/20000101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0',
  'x-amz-date': '20000101T000000Z',
};

interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

class RequestError extends Error {
  readonly reply: Reply;
  constructor(reply: Reply) {
    super(String(reply.body.message));
    this.reply = reply;
  }
}

export async function startDynamo(options: DynamoServerOptions = {}): Promise<DynamoServer> {
  if (options.path) await mkdir(options.path, { recursive: true });
  const inner = dynalite({
    ...(options.path ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await listen(inner, 0, '127.0.0.1');
  const innerPort = (inner.address() as AddressInfo).port;
  const agent = new Agent({ keepAlive: true });

  const send = (
    path: string,
    method: string,
    headers: OutgoingHttpHeaders,
    body: Buffer,
  ): Promise<Exchange> =>
    new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port: innerPort,
          path,
          method,
          agent,
          headers: { ...headers, 'content-length': body.length },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 500,
              headers: response.headers,
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  const call = async (operation: string, input: JsonObject): Promise<Reply> => {
    const exchange = await send(
      '/',
      'POST',
      {
        ...INTERNAL_AUTH,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDB_20120810.${operation}`,
      },
      Buffer.from(JSON.stringify(input)),
    );
    return { status: exchange.status, body: parseObject(exchange.body) ?? {} };
  };

  const mutex = new Mutex();
  const engine = new TransactionEngine(call);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';

    if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
      const input = parseObject(body);
      if (!input) {
        return reply(res, {
          status: 400,
          body: { __type: 'com.amazon.coral.service#SerializationException' },
        });
      }
      const answer = await mutex.run(() =>
        operation === 'TransactWriteItems'
          ? engine.transactWrite(input)
          : engine.transactGet(input),
      );
      return reply(res, answer);
    }

    const headers = forwardable(req.headers);
    const forward = () => send(req.url ?? '/', req.method ?? 'POST', headers, body);
    let exchange: Exchange;
    if (TABLE_CHANGES.has(operation)) {
      exchange = await mutex.run(async () => {
        const result = await forward();
        engine.forgetTables();
        return result;
      });
    } else if (WRITES.has(operation)) exchange = await mutex.run(forward);
    else exchange = await forward();

    res.writeHead(exchange.status, {
      ...forwardable(exchange.headers),
      'content-length': exchange.body.length,
    });
    res.end(exchange.body);
  };

  const front = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      reply(
        res,
        error instanceof RequestError
          ? error.reply
          : internalError(error instanceof Error ? error.message : 'local DynamoDB failed'),
      );
    });
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await listen(front, options.port ?? 0, host);
  } catch (error) {
    agent.destroy();
    await closeServer(inner);
    throw error;
  }
  const frontPort = (front.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${urlHost(host)}:${frontPort}`,
    close: () => {
      closing ??= (async () => {
        const frontClosed = closeServer(front);
        // Idle keep-alive sockets (the SDK's pool) would otherwise hold close() open.
        front.closeAllConnections();
        await frontClosed;
        agent.destroy();
        // dynalite's close also closes LevelDB, releasing its lock for the next start.
        await closeServer(inner);
      })();
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
  });
}

/** A wildcard bind is reachable on loopback; IPv6 literals need brackets in a URL. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function forwardable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'content-encoding') {
      out[name] = value;
    }
  }
  return out;
}

/** The whole body, decompressed: dynalite only understands plain JSON. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_REQUEST_BYTES) {
      throw new RequestError({
        status: 413,
        body: { __type: 'com.amazon.coral.service#RequestEntityTooLarge', message: 'too large' },
      });
    }
    chunks.push(buffer);
  }
  const raw = Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(raw);
    if (encoding === 'deflate') return inflateSync(raw);
    if (encoding === 'br') return brotliDecompressSync(raw);
  } catch {
    throw new RequestError({
      status: 400,
      body: {
        __type: 'com.amazon.coral.service#SerializationException',
        message: `the body is not valid ${encoding}`,
      },
    });
  }
  return raw;
}

function parseObject(body: Buffer): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Answers the way DynamoDB does, including the CRC32 header the SDK may verify. */
function reply(res: ServerResponse, answer: Reply): void {
  const body = Buffer.from(JSON.stringify(answer.body));
  res.writeHead(answer.status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': body.length,
    'x-amz-crc32': String(crc32(body)),
    'x-amzn-requestid': randomBytes(26).toString('hex').toUpperCase(),
  });
  res.end(body);
}
