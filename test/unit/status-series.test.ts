import { describe, expect, it } from "vitest";
import { LocalMetrics } from "../../infra/local/metrics.ts";
import { heartbeatKey } from "../../shared/model/items.ts";
import { HybridClock } from "../../shared/model/version.ts";
import { type MonitorDeps, sendHeartbeat } from "../../shared/sync/monitor.ts";
import { recordSeriesPoint, statusSeries } from "../../shared/sync/series.ts";
import { type BatchRecord, SyncStatusStore } from "../../shared/sync/status.ts";
import { MemoryStore } from "../support/memory-store.ts";

const minute = 60_000;
const start = Date.parse("2026-12-01T10:00:00Z");

/** A server's status records on a clock the test moves, with a queue of the given depths. */
function setup() {
  const clock = { now: start };
  const store = new MemoryStore();
  const status = new SyncStatusStore(store, () => clock.now);
  const depths = { queued: 0, inFlight: 0, deadLettered: 0 };
  const metrics = new LocalMetrics();
  const deps = {
    store,
    status,
    metrics,
    queue: { depths: async () => ({ ...depths }) },
    now: () => clock.now,
  };
  const batch = (lagMs: number[]): BatchRecord => ({
    event: {
      Success: true,
      Mode: "automatic",
      Primary: "p",
      Failover: "f",
      StartedAt: new Date(clock.now).toISOString(),
      FinishedAt: new Date(clock.now).toISOString(),
      Items: lagMs.length,
    },
    lagMs,
  });
  return { clock, deps, depths, metrics, status, batch };
}

describe("the status series: the last hour, a point a minute (R20)", () => {
  it("takes the lag of the minute's applied changes and the queue's depths now", async () => {
    const { clock, deps, depths, status, batch } = setup();
    await status.recordBatch(batch([900]));
    clock.now += 30_000;
    await status.recordBatch(batch([100, 200, 300]));
    clock.now += 40_000; // the first batch is now 70 s old: outside the minute
    Object.assign(depths, { queued: 4, inFlight: 2, deadLettered: 1 });

    const point = await recordSeriesPoint(deps, minute);

    expect(point).toEqual({
      at: new Date(clock.now).toISOString(),
      lagP50Ms: 200,
      lagP99Ms: 300,
      queued: 4,
      inFlight: 2,
      deadLettered: 1,
    });
    expect((await statusSeries(deps)).points).toEqual([point]);
  });

  it("covers the heartbeat's interval when it is longer than a minute", async () => {
    const { clock, deps, status, batch } = setup();
    await status.recordBatch(batch([900]));
    clock.now += 110_000;

    expect((await recordSeriesPoint(deps, 2 * minute)).lagP99Ms).toBe(900);
    expect((await recordSeriesPoint(deps, 1000)).lagP99Ms).toBeNull();
  });

  it("keeps one point per minute: a second run in the same minute replaces it", async () => {
    const { clock, deps, depths } = setup();
    await recordSeriesPoint(deps, 1000);
    clock.now += 20_000;
    depths.queued = 7;
    const second = await recordSeriesPoint(deps, 1000);
    clock.now += 40_000; // the next minute
    const third = await recordSeriesPoint(deps, 1000);

    expect((await statusSeries(deps)).points).toEqual([second, third]);
  });

  it("answers the last hour oldest first, without older points", async () => {
    const { clock, deps, depths } = setup();
    const taken = [];
    for (let i = 0; i < 75; i++) {
      depths.queued = i;
      taken.push(await recordSeriesPoint(deps, minute));
      clock.now += minute;
    }
    clock.now -= minute; // at the last point's minute

    const series = await statusSeries(deps);

    expect(series).toMatchObject({ stepSeconds: 60, windowSeconds: 3600 });
    expect(series.points).toEqual(taken.slice(-60));
    expect(series.points.map((point) => point.queued)).toEqual(
      Array.from({ length: 60 }, (_, i) => 15 + i),
    );
  });

  it("leaves out the point of the minute an hour ago", async () => {
    const { clock, deps } = setup();
    await recordSeriesPoint(deps, minute);
    clock.now += 60 * minute;
    const now = await recordSeriesPoint(deps, minute);

    expect((await statusSeries(deps)).points).toEqual([now]);
  });

  it("publishes the p99 lag as ReplicationLag when changes were applied, and nothing otherwise", async () => {
    const { clock, deps, metrics, status, batch } = setup();
    await recordSeriesPoint(deps, minute);
    expect(metrics.values("ReplicationLag")).toEqual([]);

    await status.recordBatch(batch([40, 50, 2500]));
    clock.now += 1000;
    await recordSeriesPoint(deps, minute);

    expect(metrics.values("ReplicationLag")).toEqual([2500]);
  });

  it("holds back no heartbeat: a point it cannot take fails the monitor's run after the heartbeat is written", async () => {
    const { deps } = setup();
    const sqsDown = {
      ...deps,
      queue: {
        depths: async () => {
          throw new Error("SQS is down");
        },
      },
      failoverSettings: { get: async () => ({ enabled: true, autoSync: true, autoResume: true }) },
      clock: new HybridClock(deps.now),
      serverId: "p",
    } as unknown as MonitorDeps;

    await expect(sendHeartbeat(sqsDown, 60)).rejects.toThrow("SQS is down");
    expect(await deps.store.get(heartbeatKey)).toMatchObject({ kind: "heartbeat" });
  });
});
