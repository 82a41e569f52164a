import { Metrics as PowertoolsMetricsClient } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Logger } from '../ports/logger.ts';
import {
  METRIC_UNITS,
  type MetricDimensions,
  type MetricName,
  type Metrics,
} from '../ports/metrics.ts';
import { logger as processLogger } from './logger.ts';

export const METRICS_NAMESPACE = 'Drawbridge';
export const METRICS_SERVICE = 'drawbridge';

/**
 * Powertools' own warnings, into the function's log. "No application metrics to publish" is
 * dropped: most invocations (every read) emit none, by design.
 */
const metricsLog = {
  trace: () => {},
  debug: () => {},
  info: (message: string) => processLogger.info(message),
  warn: (message: string) => {
    if (!message.startsWith('No application metrics to publish')) processLogger.warn(message);
  },
  error: (message: string) => processLogger.error(message),
};

/** One metrics buffer per process; flushMetrics() writes it once at the end of each invocation. */
export const metricsClient = new PowertoolsMetricsClient({
  namespace: METRICS_NAMESPACE,
  serviceName: METRICS_SERVICE,
  logger: metricsLog,
});

/**
 * Middy middleware: after the handler returns or throws, every value the invocation emitted
 * goes out as ONE Embedded Metric Format document (Powertools' logMetrics).
 */
export const flushMetrics = (client: PowertoolsMetricsClient = metricsClient) => logMetrics(client);

export interface PowertoolsMetricsOptions {
  /** a dimension on every metric, so stages sharing an account and namespace stay apart */
  stage: string;
  logger: Logger;
  /** the process's buffer unless a test brings its own */
  client?: PowertoolsMetricsClient;
}

/**
 * Metrics as CloudWatch Embedded Metric Format, through Powertools. Values are buffered and
 * written once per invocation by flushMetrics(), which every function's middy stack uses.
 * Dimensions are service=drawbridge and stage=<stage>; serverless.yml's alarms and dashboard
 * use the same.
 */
export class PowertoolsMetrics implements Metrics {
  private readonly client: PowertoolsMetricsClient;
  private readonly logger: Logger;

  constructor(options: PowertoolsMetricsOptions) {
    this.logger = options.logger;
    this.client = options.client ?? metricsClient;
    this.client.setDefaultDimensions({ stage: options.stage });
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
    } catch (error) {
      // A metric is never worth failing the session change it describes.
      this.logger.warn('could not emit a metric', { name, value, error });
    }
  }
}
