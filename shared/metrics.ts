/**
 * The metrics the sync code publishes (in the cloud, in the stack's namespace: its stackPrefix,
 * `MftFailover` by default). Each R22 alarm on that namespace watches one of them; the infra
 * tests check that every alarmed name is published.
 */
export type MetricName =
  /** A `Failover Synchronization` event with `Success: false` (automatic or on-demand). */
  | "SyncFailures"
  /** 1 when the newest heartbeat older than two intervals has not been applied (R20), else 0. */
  | "HeartbeatMissed"
  /** The number of items that differ between production and the failover (R21). */
  | "Drift";

/** Where metrics go: CloudWatch (EMF through Powertools) in the cloud, memory in local mode. */
export interface MetricSink {
  publish(values: Partial<Record<MetricName, number>>): Promise<void>;
}
