import type { MetricName, Metrics } from '../../lib/ports/metrics.ts';

/** Keeps every emitted value, for asserting what a use case reported. */
export class RecordingMetrics implements Metrics {
  readonly emitted: { name: MetricName; value: number }[] = [];
  emit(name: MetricName, value: number): void {
    this.emitted.push({ name, value });
  }
  values(name: MetricName): number[] {
    return this.emitted.filter((metric) => metric.name === name).map((metric) => metric.value);
  }
}
