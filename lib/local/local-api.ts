import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { PayloadTooLargeError, UnauthorizedError } from '../domain/errors.ts';
import type { HttpEvent, HttpResult } from '../http/http-handler.ts';
import { errorResponse } from '../http/http-handler.ts';
import type { Logger } from '../ports/logger.ts';

export type RouteHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

export interface Route {
  method: string;
  /** API Gateway route key path, e.g. /sessions/{id} */
  path: string;
  handler: RouteHandler;
  /** served without a token, as a route with no authorizer (the console's files) */
  public?: boolean;
}

export interface LocalApiOptions {
  routes: Route[];
  /** verifies the bearer token like the HTTP API JWT authorizer; returns its claims */
  verify: (token: string) => Promise<Record<string, unknown>>;
  host?: string;
  port?: number;
  logger: Logger;
  /**
   * Unauthenticated paths served beside the API (local mode's OpenID Provider under /oidc and
   * the client discovery document); returns false for a path it does not serve.
   */
  serveUnauthenticated?: (request: IncomingMessage, response: ServerResponse) => boolean;
}

/** Requests larger than API Gateway's own payload limit never reach a handler there either. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

function matchRoute(
  routes: Route[],
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | undefined {
  const parts = path.split('/').filter(Boolean);
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.path.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const matches = pattern.every((segment, index) => {
      const part = parts[index] ?? '';
      if (segment.startsWith('{') && segment.endsWith('}')) {
        const decoded = safeDecode(part);
        if (decoded === undefined) return false;
        params[segment.slice(1, -1)] = decoded;
        return true;
      }
      return segment === part;
    });
    if (matches) return { route, params };
  }
  return undefined;
}

/** A malformed escape (`%E0%A4%A`) matches no route (404), as API Gateway answers. */
function safeDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_REQUEST_BYTES)
      throw new PayloadTooLargeError('the request is larger than 10 MB');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, result: HttpResult): void {
  response.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
  response.end(result.body ?? '');
}

const localContext = (name: string): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName: `drawbridge-local-${name}`,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:drawbridge-local-${name}`,
  memoryLimitInMB: '256',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/drawbridge-local-${name}`,
  logStreamName: 'local',
  getRemainingTimeInMillis: () => 10_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});

async function authorize(
  request: IncomingMessage,
  verify: LocalApiOptions['verify'],
): Promise<Record<string, unknown>> {
  const authorization = request.headers.authorization ?? '';
  const token = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization)?.[1];
  if (!token)
    throw new UnauthorizedError('missing bearer token: run `drawbridge login --local` first');
  return verify(token);
}

/**
 * The HTTP API on one machine, in front of the very same Lambda handlers: it does what API
 * Gateway does for them — verify the JWT (signature, issuer, audience, expiry), route, and
 * build the v2 event with the TCP peer as requestContext.http.sourceIp.
 */
export async function startLocalApi(
  options: LocalApiOptions,
): Promise<{ server: Server; url: string }> {
  const server = createServer(async (request, response) => {
    try {
      if (options.serveUnauthenticated?.(request, response)) return;
      const url = new URL(request.url ?? '/', 'http://localhost');
      const method = request.method ?? 'GET';
      const matched = matchRoute(options.routes, method, url.pathname);
      if (!matched) {
        send(response, {
          statusCode: 404,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            error: { code: 'not_found', message: `no route ${method} ${url.pathname}` },
          }),
        });
        return;
      }
      const claims = matched.route.public ? {} : await authorize(request, options.verify);
      const body = await readBody(request);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === 'string') headers[name] = value;
        else if (Array.isArray(value)) headers[name] = value.join(',');
      }
      const sourceIp = (request.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
      const query = Object.fromEntries(url.searchParams);
      const routeKey = `${method} ${matched.route.path}`;
      const event: HttpEvent = {
        version: '2.0',
        routeKey,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
        ...(Object.keys(matched.params).length > 0 ? { pathParameters: matched.params } : {}),
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          authorizer: {
            jwt: { claims: claims as Record<string, string>, scopes: [] },
            principalId: '',
            integrationLatency: 0,
          },
          domainName: 'localhost',
          domainPrefix: 'localhost',
          http: {
            method,
            path: url.pathname,
            protocol: `HTTP/${request.httpVersion}`,
            sourceIp,
            userAgent: headers['user-agent'] ?? '',
          },
          requestId: randomUUID(),
          routeKey,
          stage: '$default',
          time: new Date().toISOString(),
          timeEpoch: Date.now(),
        },
        isBase64Encoded: false,
        ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
      };
      send(
        response,
        await matched.route.handler(event, localContext(routeKey.replace(/[^A-Za-z]+/g, '-'))),
      );
    } catch (error) {
      send(response, errorResponse(error, options.logger));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, url: `http://${host}:${address.port}` };
}
