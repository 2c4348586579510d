import type { MetricName, MetricSink } from "../../shared/metrics.ts";

export interface PublishedMetric {
  readonly name: MetricName;
  readonly value: number;
  readonly at: number;
}

const KEEP = 1000;

/** Local mode's CloudWatch: the metrics a region published, newest last (tests read them). */
export class LocalMetrics implements MetricSink {
  readonly published: PublishedMetric[] = [];

  async publish(values: Partial<Record<MetricName, number>>): Promise<void> {
    const at = Date.now();
    for (const [name, value] of Object.entries(values) as [MetricName, number | undefined][]) {
      if (value !== undefined) this.published.push({ name, value, at });
    }
    this.published.splice(0, Math.max(0, this.published.length - KEEP));
  }

  /** The values published under `name`, oldest first. */
  values(name: MetricName): number[] {
    return this.published.filter((metric) => metric.name === name).map((metric) => metric.value);
  }
}
