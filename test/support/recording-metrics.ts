import type { MetricDimensions, MetricName, Metrics } from '../../lib/ports/metrics.ts';

/** Keeps every emitted value, for asserting what a use case reported. */
export class RecordingMetrics implements Metrics {
  readonly emitted: { name: MetricName; value: number; dimensions?: MetricDimensions }[] = [];
  emit(name: MetricName, value: number, dimensions?: MetricDimensions): void {
    this.emitted.push({ name, value, ...(dimensions ? { dimensions } : {}) });
  }
  /** values emitted under `name` with exactly these extra dimensions (none by default) */
  values(name: MetricName, dimensions?: MetricDimensions): number[] {
    const key = JSON.stringify(dimensions ?? {});
    return this.emitted
      .filter((metric) => metric.name === name && JSON.stringify(metric.dimensions ?? {}) === key)
      .map((metric) => metric.value);
  }
}
