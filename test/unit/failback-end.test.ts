import { describe, expect, it } from "vitest";
import { failbackTasks, failbackView, requestFailback } from "../../shared/sync/failback.ts";
import { saveFailoverSettings } from "../../shared/sync/operations.ts";
import { memoryProduction } from "../support/memory-production.ts";

describe("the end of a failback run (R19)", () => {
  it("is running until it let go of its lock, so that what the view calls ended can resume at once", async () => {
    const server = memoryProduction();
    await saveFailoverSettings(server.deps, {
      enabled: true,
      autoSync: true,
      host: "failover.example.com",
      username: "admin",
      password: "Passw0rd-A",
    });
    // Announcing the end takes its time: held until the test lets it go.
    const { promise: announced, resolve: letGo } = Promise.withResolvers<void>();
    let announcing = false;
    const deps = {
      ...server.deps,
      events: {
        publish: async () => {
          announcing = true;
          await announced;
        },
      },
    };
    const { failbackId } = await requestFailback(deps, {
      production: { host: "production.example.com", username: "admin", password: "Pr0duction!" },
    });

    const ending = failbackTasks(deps).fail({
      failbackId,
      error: { Error: "Error", Cause: "the failover was down" },
    });
    await expect.poll(() => announcing).toBe(true);

    expect((await failbackView(deps, failbackId)).state).toBe("running");
    letGo();
    await ending;
    expect((await failbackView(deps, failbackId)).state).toBe("failed");
    await expect(requestFailback(deps, { resume: failbackId })).resolves.toMatchObject({
      failbackId,
    });
  });
});
