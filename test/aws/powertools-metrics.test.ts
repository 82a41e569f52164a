import { Metrics as PowertoolsMetricsClient } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createExpireHandler } from '../../functions/expire.ts';
import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  PowertoolsMetrics,
} from '../../lib/aws/powertools-metrics.ts';
import { httpFunction } from '../../lib/composition/http.ts';
import { meteredHttpFunction } from '../../lib/composition/metrics.ts';
import { json } from '../../lib/http/http-handler.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import { httpEvent, lambdaContext } from '../support/events.ts';
import { testWorld } from '../support/fakes.ts';

interface Emf {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** EMF lines the adapter printed (Powertools writes them to stdout). */
function captureStdout() {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  return {
    spy,
    emf: () =>
      lines.filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line) as Emf),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('PowertoolsMetrics', () => {
  it('buffers the values; one flush writes them as ONE EMF document with the service and stage dimensions', () => {
    const out = captureStdout();
    const warn = vi.fn();
    const client = new PowertoolsMetricsClient({
      namespace: METRICS_NAMESPACE,
      serviceName: METRICS_SERVICE,
    });
    const metrics = new PowertoolsMetrics({
      stage: 'prod',
      logger: { info() {}, warn, error() {} },
      client,
    });
    metrics.emit('OverstaySeconds', 45);
    metrics.emit('OrphansReaped', 2);
    expect(out.emf()).toHaveLength(0);
    client.publishStoredMetrics();
    const documents = out.emf();
    expect(documents).toHaveLength(1);
    expect(documents[0]?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'Drawbridge',
        Dimensions: [['service', 'stage']],
        Metrics: [
          { Name: 'OverstaySeconds', Unit: 'Seconds' },
          { Name: 'OrphansReaped', Unit: 'Count' },
        ],
      },
    ]);
    expect(documents[0]).toMatchObject({
      service: 'drawbridge',
      stage: 'prod',
      OverstaySeconds: 45,
      OrphansReaped: 2,
    });
    expect(warn).not.toHaveBeenCalled();
  });

  it('one invocation of a function that emits several metrics writes one EMF document', async () => {
    const out = captureStdout();
    const metrics = new PowertoolsMetrics({ stage: 'prod', logger: silentLogger });
    const emitSeveral = () => {
      metrics.emit('SessionsRequested', 1);
      metrics.emit('BreakGlassSessions', 1);
      metrics.emit('NotificationFailures', 1);
      return Promise.resolve({});
    };
    const world = testWorld();
    const handler = createExpireHandler(() => ({
      ...world.deps,
      metrics,
      store: {
        ...world.deps.store,
        get: async () => {
          await emitSeveral();
          return undefined;
        },
      },
    }));
    await handler({ sessionId: `s-${'a'.repeat(20)}` }, lambdaContext);
    const documents = out.emf();
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({
      SessionsRequested: 1,
      BreakGlassSessions: 1,
      NotificationFailures: 1,
    });
    // the buffer is empty again: a second invocation that emits nothing writes nothing
    await createExpireHandler(() => world.deps)({ sessionId: 'nope' }, lambdaContext);
    expect(out.emf()).toHaveLength(1);
  });

  it('an HTTP function that emits writes one EMF document per invocation; a read function none', async () => {
    const out = captureStdout();
    const metrics = new PowertoolsMetrics({ stage: 'prod', logger: silentLogger });
    const route = async () => {
      metrics.emit('SessionsRequested', 1);
      metrics.emit('BreakGlassSessions', 1);
      return json(202, {});
    };
    const deps = () => ({ groupsClaim: 'groups' });
    const metered = meteredHttpFunction(deps, route);
    expect((await metered(httpEvent('create-session'), lambdaContext)).statusCode).toBe(202);
    expect(out.emf()).toHaveLength(1);
    expect(out.emf()[0]).toMatchObject({ SessionsRequested: 1, BreakGlassSessions: 1 });
    // httpFunction, the read functions' stack (they emit nothing), writes no document at all
    await httpFunction(deps, async () => json(200, {}))(httpEvent('get-session'), lambdaContext);
    expect(out.emf()).toHaveLength(1);
  });

  it('never lets a bad value fail the caller', () => {
    captureStdout();
    const warn = vi.fn();
    const metrics = new PowertoolsMetrics({
      stage: 'prod',
      logger: { info() {}, warn, error() {} },
    });
    expect(() => metrics.emit('TimeToReady', Number.NaN)).not.toThrow();
    expect(warn).toHaveBeenCalledWith(
      'could not emit a metric',
      expect.objectContaining({ name: 'TimeToReady' }),
    );
  });
});
