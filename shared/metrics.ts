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
  /**
   * On a failover: seconds since production wrote the newest heartbeat applied here (R20),
   * published by the failover's own monitor, so a lost production region is seen from this one.
   */
  | "HeartbeatAge"
  /**
   * The number of items that differ between production and the failover and that automatic
   * sync will not fix by itself (R21: drift; what it still carries is pending, not counted).
   */
  | "Drift"
  /**
   * The p99 lag (ms, production's commit to the failover's apply) of the changes applied in the
   * minute before a heartbeat, published with the status series' point when there were any (R20).
   */
  | "ReplicationLag";

/** Where metrics go: CloudWatch (EMF through Powertools) in the cloud, memory in local mode. */
export interface MetricSink {
  publish(values: Partial<Record<MetricName, number>>): Promise<void>;
}
