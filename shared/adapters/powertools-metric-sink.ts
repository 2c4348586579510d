import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { MetricSink } from "../metrics.ts";

/**
 * Metrics as CloudWatch embedded-metric-format log lines, written at once (Powertools), in the
 * stack's namespace (METRICS_NAMESPACE: two stacks in one region must not mix their metrics).
 */
export class PowertoolsMetricSink implements MetricSink {
  private readonly metrics: Metrics;

  constructor(namespace: string) {
    this.metrics = new Metrics({ namespace });
  }

  async publish(values: Parameters<MetricSink["publish"]>[0]): Promise<void> {
    for (const [name, value] of Object.entries(values)) {
      if (value !== undefined) this.metrics.addMetric(name, MetricUnit.Count, value);
    }
    this.metrics.publishStoredMetrics();
  }
}
