import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type * as z from 'zod/mini';
import {
  DrawbridgeError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../domain/errors.ts';
import { identityFromClaims } from '../domain/identity.ts';
import type { Identity } from '../domain/session.ts';
import { describeIssues, safeParse } from '../domain/validation.ts';
import type { Logger } from '../ports/logger.ts';
import { httpStatus } from './error-status.ts';
import { MAX_BODY_BYTES } from './schemas.ts';

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface HttpRequest {
  event: HttpEvent;
  identity: Identity;
  /** requestContext.http.sourceIp: the TCP peer API Gateway saw. X-Forwarded-For is never read. */
  sourceIp: string;
}

export interface HttpHandlerOptions {
  /** name of the JWT claim that lists the caller's groups (a stage parameter) */
  groupsClaim: () => string;
  logger: PowertoolsLogger;
}

const HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return { statusCode, headers: { ...HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** 4xx errors say what was wrong; anything else is a 500 that says nothing internal. */
export function errorResponse(error: unknown, logger: Logger): HttpResult {
  if (error instanceof DrawbridgeError && error.expose) {
    const status = httpStatus(error);
    if (status >= 500) logger.error('request failed', { error });
    return json(status, { error: { code: error.code, message: error.message } });
  }
  logger.error('unhandled error', { error });
  return json(500, { error: { code: 'internal_error', message: 'internal error' } });
}

function rawBody(event: HttpEvent): string | undefined {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const bytes = event.isBase64Encoded
    ? Buffer.from(event.body, 'base64')
    : Buffer.from(event.body, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`the body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  return bytes.toString('utf8');
}

/** Size cap, media type, JSON, then the schema: in that order, each with its own message. */
export function parseJsonBody<S extends z.ZodMiniType>(event: HttpEvent, schema: S): z.infer<S> {
  const text = rawBody(event);
  if (text === undefined) throw new ValidationError('a JSON body is required');
  const contentType = event.headers?.['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) throw new UnsupportedMediaTypeError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError('the body is not valid JSON');
  }
  return parseWith(schema, parsed, 'body');
}

export function parseWith<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
  what: string,
): z.infer<S> {
  const result = safeParse(schema, value);
  if (!result.success) throw new ValidationError(`${what}: ${describeIssues(result.error)}`);
  return result.data;
}

/**
 * The shared middy stack for every HTTP route: a dozen lines per handler, with identity and
 * source address read in one place and every error mapped the same way.
 */
export function httpHandler(
  options: HttpHandlerOptions,
  route: (request: HttpRequest) => Promise<HttpResult>,
) {
  const { logger, groupsClaim } = options;
  return middy<HttpEvent, HttpResult, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer())
    .handler(async (event) => {
      try {
        // Checked before anything else looks at the body.
        rawBody(event);
        const identity = identityFromClaims(
          event.requestContext.authorizer?.jwt?.claims,
          groupsClaim(),
        );
        const sourceIp = event.requestContext.http.sourceIp;
        logger.appendKeys({ caller: identity.subject, sourceIp });
        return await route({ event, identity, sourceIp });
      } catch (error) {
        return errorResponse(error, logger);
      }
    });
}
