import { Metrics as PowertoolsMetricsClient } from '@aws-lambda-powertools/metrics';
import type { Logger } from '../ports/logger.ts';
import {
  METRIC_UNITS,
  type MetricDimensions,
  type MetricName,
  type Metrics,
} from '../ports/metrics.ts';

export const METRICS_NAMESPACE = 'Drawbridge';
export const METRICS_SERVICE = 'drawbridge';

export interface PowertoolsMetricsOptions {
  /** a dimension on every metric, so stages sharing an account and namespace stay apart */
  stage: string;
  logger: Logger;
  /** injectable for tests */
  client?: PowertoolsMetricsClient;
}

/**
 * Metrics as CloudWatch Embedded Metric Format lines on stdout, through Powertools. Each value
 * is published at once: a use case emits a handful per invocation, and publishing immediately
 * means no handler needs a flush middleware and nothing is lost when one throws. Dimensions
 * are service=drawbridge and stage=<stage>; serverless.yml's alarms and dashboard use the same.
 */
export class PowertoolsMetrics implements Metrics {
  private readonly client: PowertoolsMetricsClient;
  private readonly logger: Logger;

  constructor(options: PowertoolsMetricsOptions) {
    this.logger = options.logger;
    this.client =
      options.client ??
      new PowertoolsMetricsClient({
        namespace: METRICS_NAMESPACE,
        serviceName: METRICS_SERVICE,
        defaultDimensions: { stage: options.stage },
      });
  }

  emit(name: MetricName, value: number, dimensions?: MetricDimensions): void {
    // Powertools would print NaN as null, which CloudWatch rejects along with the whole line.
    if (!Number.isFinite(value)) {
      this.logger.warn('could not emit a metric', { name, value, error: 'not a finite number' });
      return;
    }
    try {
      if (dimensions && Object.keys(dimensions).length > 0) {
        // Its own EMF line, so the dimension applies to this value only.
        const single = this.client.singleMetric();
        for (const [key, dimension] of Object.entries(dimensions))
          single.addDimension(key, dimension);
        single.addMetric(name, METRIC_UNITS[name], value);
        return;
      }
      this.client.addMetric(name, METRIC_UNITS[name], value);
      this.client.publishStoredMetrics();
    } catch (error) {
      // A metric is never worth failing the session change it describes.
      this.logger.warn('could not emit a metric', { name, value, error });
    }
  }
}
