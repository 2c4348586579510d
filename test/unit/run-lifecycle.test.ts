import { describe, expect, it } from "vitest";
import { requestFullSync } from "../../shared/sync/full/api.ts";
import { fullSyncHolder } from "../../shared/sync/full/records.ts";
import { fullSyncTasks } from "../../shared/sync/full/tasks.ts";
import { memoryProduction } from "../support/memory-production.ts";

// One run lifecycle (R11, R19): lock, renew and fence from each Task, record, announce, release.
describe("a full sync's lifecycle (R11)", () => {
  async function runningSync() {
    const server = memoryProduction();
    await server.deps.failoverSettings.put({
      enabled: true,
      autoSync: false,
      host: "failover.example.com",
      username: "admin",
      password: "Passw0rd-A",
    });
    const { syncId } = await requestFullSync(server.deps);
    return { server, syncId };
  }

  it("lets go of the lock when its end cannot be announced, so the next run can start", async () => {
    const { server, syncId } = await runningSync();
    const deps = {
      ...server.deps,
      events: { publish: () => Promise.reject(new Error("EventBridge is down")) },
    };
    expect(await fullSyncHolder(deps.store, deps.now)).toBe(syncId);
    await expect(fullSyncTasks(deps).finish({ state: { syncId } })).rejects.toThrow(
      "EventBridge is down",
    );
    expect(await fullSyncHolder(deps.store, deps.now)).toBeUndefined();
    await expect(requestFullSync(server.deps)).resolves.toMatchObject({
      syncId: expect.any(String),
    });
  });
});
