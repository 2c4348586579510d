import type { MetricSink } from "../metrics.ts";
import type { ChangeQueue, ConfigStore } from "../ports.ts";
import { percentile, type SyncStatusStore } from "./status.ts";

/**
 * The status's last hour (R20), one point a minute, for the console's charts. The monitor takes
 * a point on each heartbeat (it runs every minute in every region anyway) and stores it in the
 * table as a local (R3) record named by its minute, so that a stateless Lambda serving the status
 * reads the hour with one Query, and a second run in the same minute replaces that minute's point.
 */
export interface SeriesPoint {
  /** When the monitor took it. */
  readonly at: string;
  /** Lag of the changes applied on the failover in the minute before `at`; null when none were. */
  readonly lagP50Ms: number | null;
  readonly lagP99Ms: number | null;
  /** The queue's depths at `at`. */
  readonly queued: number;
  readonly inFlight: number;
  readonly deadLettered: number;
}

export interface StatusSeries {
  readonly stepSeconds: number;
  readonly windowSeconds: number;
  /** Oldest first; a minute without a point (the monitor did not run) is absent. */
  readonly points: SeriesPoint[];
}

export interface SeriesDeps {
  readonly store: ConfigStore;
  readonly status: SyncStatusStore;
  readonly queue: Pick<ChangeQueue, "depths">;
  readonly metrics: MetricSink;
  readonly now?: () => number;
}

const POINT = "series#";
const STEP_MS = 60_000;
const WINDOW_MS = 60 * STEP_MS;
/** Kept a while past the window, then DynamoDB's TTL removes it. */
const KEEP_SECONDS = 2 * 3600;

const minuteName = (at: number) =>
  `${POINT}${new Date(Math.floor(at / STEP_MS) * STEP_MS).toISOString()}`;

/**
 * Takes this minute's point: the lag of what was applied over the last `coverMs` (at least a
 * minute: the heartbeat's interval, so no change is missed between two points), and the queue's
 * depths now. Publishes the point's p99 lag as ReplicationLag when there was any.
 */
export async function recordSeriesPoint(deps: SeriesDeps, coverMs: number): Promise<SeriesPoint> {
  const at = (deps.now ?? Date.now)();
  const [batches, depths] = await Promise.all([
    deps.status.recentBatches(Math.max(coverMs, STEP_MS)),
    deps.queue.depths(),
  ]);
  const lags = batches.flatMap((batch) => batch.lagMs);
  const point: SeriesPoint = {
    at: new Date(at).toISOString(),
    lagP50Ms: percentile(lags, 50) ?? null,
    lagP99Ms: percentile(lags, 99) ?? null,
    queued: depths.queued,
    inFlight: depths.inFlight,
    deadLettered: depths.deadLettered,
  };
  await Promise.all([
    saveSeriesPoint(deps.store, point),
    point.lagP99Ms === null ? undefined : deps.metrics.publish({ ReplicationLag: point.lagP99Ms }),
  ]);
  return point;
}

/** Stores a point as its minute's, replacing one taken earlier in that minute. */
export async function saveSeriesPoint(store: ConfigStore, point: SeriesPoint): Promise<void> {
  const at = Date.parse(point.at);
  await store.putLocal(minuteName(at), point, { expiresAt: Math.floor(at / 1000) + KEEP_SECONDS });
}

/** The points of the last hour, oldest first. */
export async function statusSeries(deps: Pick<SeriesDeps, "store" | "now">): Promise<StatusSeries> {
  const now = (deps.now ?? Date.now)();
  const from = minuteName(now - WINDOW_MS + STEP_MS);
  const points = await deps.store.listLocal<SeriesPoint>(POINT, from, WINDOW_MS / STEP_MS);
  return {
    stepSeconds: STEP_MS / 1000,
    windowSeconds: WINDOW_MS / 1000,
    points: points.reverse(),
  };
}
