import { afterEach, describe, expect, it, vi } from 'vitest';
import { PowertoolsMetrics } from '../../lib/aws/powertools-metrics.ts';

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
  return { spy, emf: () => lines.map((line) => JSON.parse(line) as Emf) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('PowertoolsMetrics', () => {
  it('publishes each value at once as EMF with the service and stage dimensions', () => {
    const out = captureStdout();
    const warn = vi.fn();
    const metrics = new PowertoolsMetrics({
      stage: 'prod',
      logger: { info() {}, warn, error() {} },
    });
    metrics.emit('OverstaySeconds', 45);
    metrics.emit('OrphansReaped', 2);
    const [overstay, orphans] = out.emf();
    expect(out.emf()).toHaveLength(2);
    expect(overstay?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'Drawbridge',
        Dimensions: [['service', 'stage']],
        Metrics: [{ Name: 'OverstaySeconds', Unit: 'Seconds' }],
      },
    ]);
    expect(overstay).toMatchObject({ service: 'drawbridge', stage: 'prod', OverstaySeconds: 45 });
    expect(orphans).toMatchObject({ OrphansReaped: 2 });
    expect(orphans?._aws.CloudWatchMetrics[0]?.Metrics).toEqual([
      { Name: 'OrphansReaped', Unit: 'Count' },
    ]);
    expect(warn).not.toHaveBeenCalled();
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
