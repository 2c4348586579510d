import { describe, expect, it } from "vitest";
import { withOutcome } from "../../shared/events/outcome.ts";
import type { SyncEventDetail, SyncMode } from "../../shared/sync/events.ts";
import { MemoryStore } from "../support/memory-store.ts";

// R16/R17 (issue 15 point 7): each published event tells whether the outcome changed, per Mode
// and per server, so "tell me when it breaks / when it heals" is one trigger each.

const event = (Success: boolean, Mode: SyncMode = "automatic"): SyncEventDetail => ({
  Success,
  Mode,
  Primary: "prod",
  Failover: "dr",
  StartedAt: "2026-01-01T00:00:00Z",
  FinishedAt: "2026-01-01T00:00:01Z",
  Items: 1,
});

describe("withOutcome: PreviousSuccess and Changed", () => {
  it("tells the break and the heal, and nothing in between (a first success is no change)", async () => {
    const store = new MemoryStore();
    const outcomes = [true, false, false, true, true, false];
    const published: SyncEventDetail[] = [];
    for (const success of outcomes) published.push(await withOutcome(store, event(success)));

    expect(published.map((detail) => detail.PreviousSuccess)).toEqual([
      undefined,
      true,
      false,
      false,
      true,
      true,
    ]);
    expect(published.map((detail) => detail.Changed)).toEqual([
      false,
      true,
      false,
      true,
      false,
      true,
    ]);
    expect(published[1]).toEqual({ ...event(false), PreviousSuccess: true, Changed: true });
  });

  it("a first event that fails is a break", async () => {
    expect(await withOutcome(new MemoryStore(), event(false))).toMatchObject({ Changed: true });
  });

  it("keeps each Mode's outcome apart, and each server's (its own store)", async () => {
    const production = new MemoryStore();
    const failover = new MemoryStore();
    await withOutcome(production, event(false, "automatic"));
    expect(await withOutcome(production, event(true, "on-demand"))).toMatchObject({
      Changed: false,
    });
    expect(await withOutcome(failover, event(true, "automatic"))).toMatchObject({
      Changed: false,
    });
    expect(await withOutcome(production, event(true, "automatic"))).toMatchObject({
      PreviousSuccess: false,
      Changed: true,
    });
  });

  it("orders events published side by side: one first, and each change of outcome told once", async () => {
    const store = new MemoryStore();
    const outcomes = Array.from({ length: 12 }, (_, i) => i % 3 === 0);
    const published = await Promise.all(
      outcomes.map((success) => withOutcome(store, event(success))),
    );
    // One event came first (no predecessor); the others are ordered through the compare-and-set.
    const first = published.filter((detail) => detail.PreviousSuccess === undefined);
    expect(first).toHaveLength(1);
    // Only changes of outcome are written (after the first event): each is one Changed event.
    const last = await store.getLocal<{ success: boolean; rev: number }>("outcome/automatic");
    const changed = published.filter((detail) => detail.Changed).length;
    expect(changed).toBe((last?.rev ?? 0) - (first[0]?.Success ? 1 : 0));
    expect(changed).toBeGreaterThan(0);
  });

  it("writes nothing while the outcome stays the same", async () => {
    const store = new MemoryStore();
    for (const success of [true, true, true, false, false, true])
      await withOutcome(store, event(success));
    expect(await store.getLocal("outcome/automatic")).toEqual({ success: true, rev: 3 });
  });
});
