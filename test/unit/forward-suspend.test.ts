import { describe, expect, it } from "vitest";
import { FailoverSettingsService } from "../../shared/config/failover-settings.ts";
import type { ChangeQueue, PeerClient, SecretStore } from "../../shared/ports.ts";
import type { SyncEvent } from "../../shared/sync/events.ts";
import { forwardBatch } from "../../shared/sync/forward.ts";
import { PeerError } from "../../shared/sync/peer.ts";
import { SyncStatusStore } from "../../shared/sync/status.ts";
import { queuedChange } from "../support/memory-production.ts";
import { MemoryStore } from "../support/memory-store.ts";

class Secrets implements SecretStore {
  private value: string | undefined;
  async get() {
    return this.value;
  }
  async refresh() {
    return this.value;
  }
  async put(_name: string, value: string) {
    this.value = value;
  }
}

describe("batches failing side by side (R9)", () => {
  it("suspend once: one event, and every batch's changes are among those resume hands out", async () => {
    const store = new MemoryStore();
    const failoverSettings = new FailoverSettingsService(store, new Secrets());
    await failoverSettings.put({
      enabled: true,
      host: "failover.example.com",
      username: "admin",
      password: "Passw0rd-1",
      autoSync: true,
    });
    // Each call a millisecond later, so a second suspension would move the state's `since`.
    let now = Date.parse("2026-12-03T10:00:00Z");
    const status = new SyncStatusStore(store, () => now++);
    const published: SyncEvent[] = [];
    const refusing: PeerClient = {
      hello: () => Promise.reject(new Error("not used")),
      sendChanges: () =>
        Promise.reject(new PeerError("loop", "the failover sees its own changes", false)),
    };
    const deps = {
      serverId: "production",
      failoverSettings,
      status,
      store,
      queue: { deadLetter: async () => {}, release: async () => {} } as unknown as ChangeQueue,
      forwarding: { suspend: async () => {}, resume: async () => {} },
      events: { publish: async (event: SyncEvent) => void published.push(event) },
      metrics: { publish: async () => {} },
      peerFor: () => refusing,
      retry: { attempts: 1, baseDelayMs: 1 },
      now: () => now,
    };

    const domains = ["a", "b", "c", "d"];
    await Promise.all(
      domains.map((domain) => forwardBatch(deps, [queuedChange(domain)], Date.now() + 10_000)),
    );

    expect(published).toHaveLength(1);
    // The first failure of a server whose automatic sync never failed: a change of outcome.
    expect(published[0]?.detail).toMatchObject({ Success: false, Changed: true });
    const state = await status.state();
    expect(state).toMatchObject({ state: "suspended", cause: "refused" });
    expect((await status.held(state.since)).sort()).toEqual(
      domains.map((domain) => `handle-${domain}`),
    );
  });
});
