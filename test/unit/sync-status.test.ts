import { describe, expect, it } from "vitest";
import { backoffSeconds } from "../../shared/sync/forward.ts";
import { heartbeatMissed, SyncStatusStore } from "../../shared/sync/status.ts";
import { MemoryStore } from "../support/memory-store.ts";

describe("automatic sync state (R9, R20)", () => {
  it("is active with no change time until it first changes", async () => {
    const status = new SyncStatusStore(new MemoryStore(), () => Date.parse("2026-12-01T10:00:00Z"));

    expect(await status.state()).toEqual({ state: "active" });

    expect(await status.suspend("peer down", "unreachable")).toBe(true);
    expect(await status.state()).toEqual({
      state: "suspended",
      reason: "peer down",
      cause: "unreachable",
      since: "2026-12-01T10:00:00.000Z",
    });
  });

  it("is suspended by the first of many batches failing side by side, whose reason and time stay", async () => {
    let now = Date.parse("2026-12-01T10:00:00Z");
    const status = new SyncStatusStore(new MemoryStore(), () => now++);

    const suspended = await Promise.all(
      ["a", "b", "c"].map((reason) => status.suspend(reason, "refused")),
    );

    expect(suspended.filter(Boolean)).toHaveLength(1);
    const first = ["a", "b", "c"][suspended.indexOf(true)];
    expect(await status.state()).toMatchObject({ state: "suspended", reason: first });
    const { since } = await status.state();
    await status.activate();
    expect(await status.state()).toMatchObject({ state: "active" });
    expect((await status.state()).since).not.toBe(since);
    expect(await status.suspend("again", "unreachable")).toBe(true);
  });
});

describe("heartbeat (R20)", () => {
  const minute = 60_000;
  const sent = { intervalSeconds: 60, firstSentAt: 0, lastSentAt: 10 * minute };

  it("is missed when the heartbeat after the newest applied one is not applied within two intervals", () => {
    const applied = { sentAt: 5 * minute, appliedAt: 5 * minute + 300 };
    // The next heartbeat was written at minute 6 and is due on the failover by minute 8.
    expect(heartbeatMissed(sent, applied, 8 * minute - 1)).toBe(false);
    expect(heartbeatMissed(sent, applied, 8 * minute)).toBe(true);
  });

  it("counts from the first heartbeat when none was applied, and is never missed before one is sent", () => {
    expect(heartbeatMissed(sent, undefined, 2 * minute - 1)).toBe(false);
    expect(heartbeatMissed(sent, undefined, 2 * minute)).toBe(true);
    expect(heartbeatMissed(undefined, undefined, 100 * minute)).toBe(false);
  });

  it("starts over after a pause: a heartbeat applied before the pause does not count", async () => {
    let now = 0;
    const status = new SyncStatusStore(new MemoryStore(), () => now);
    await status.recordHeartbeatSent(undefined, 60);
    now = 30 * minute; // automatic sync was off in between
    const restarted = await status.recordHeartbeatSent(await status.heartbeatSent(), 60);
    expect(restarted.firstSentAt).toBe(30 * minute);
    const old = { sentAt: 0, appliedAt: 1 };
    expect(heartbeatMissed(restarted, old, 30 * minute + 1)).toBe(false);
    expect(heartbeatMissed(restarted, old, 32 * minute)).toBe(true);
  });
});

describe("SQS backoff of a batch that met an unreachable failover (R9)", () => {
  it("doubles with each receive up to 30 seconds", () => {
    expect([1, 2, 3, 4, 5, 9].map(backoffSeconds)).toEqual([2, 4, 8, 16, 30, 30]);
  });
});
