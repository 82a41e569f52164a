import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import type { HttpEvent } from '../../lib/http/http-handler.ts';

const EVENTS = new URL('../../events/', import.meta.url);

/** A fixture from events/, as `osls invoke local` would pass it. */
export function loadEvent<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, EVENTS), 'utf8')) as T;
}

export function httpEvent(name: string, patch: (event: HttpEvent) => void = () => {}): HttpEvent {
  const event = loadEvent<HttpEvent>(`http/${name}.json`);
  patch(event);
  return event;
}

export const lambdaContext: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'drawbridge-test-function',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:drawbridge-test-function',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/drawbridge-test-function',
  logStreamName: '2026/11/24/[$LATEST]abcdef',
  getRemainingTimeInMillis: () => 10_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};
