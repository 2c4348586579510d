import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS_NAMESPACE, type MetricSink } from "../metrics.ts";

/** Metrics as CloudWatch embedded-metric-format log lines, written at once (Powertools). */
export class PowertoolsMetricSink implements MetricSink {
  private readonly metrics = new Metrics({ namespace: METRICS_NAMESPACE });

  async publish(values: Parameters<MetricSink["publish"]>[0]): Promise<void> {
    for (const [name, value] of Object.entries(values)) {
      if (value !== undefined) this.metrics.addMetric(name, MetricUnit.Count, value);
    }
    this.metrics.publishStoredMetrics();
  }
}
