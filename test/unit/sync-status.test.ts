import { describe, expect, it } from "vitest";
import { SyncStatusStore } from "../../shared/sync/status.ts";
import { MemoryStore } from "../support/memory-store.ts";

describe("automatic sync state (R9, R20)", () => {
  it("is active with no change time until it first changes", async () => {
    const status = new SyncStatusStore(new MemoryStore(), () => Date.parse("2026-12-01T10:00:00Z"));

    expect(await status.state()).toEqual({ state: "active" });

    await status.setState("suspended", "peer down");
    expect(await status.state()).toEqual({
      state: "suspended",
      reason: "peer down",
      since: "2026-12-01T10:00:00.000Z",
    });
  });
});
