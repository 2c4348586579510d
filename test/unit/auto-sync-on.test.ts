import { describe, expect, it } from "vitest";
import { AppError } from "../../shared/errors.ts";
import { domainKey } from "../../shared/model/items.ts";
import type { PeerHello } from "../../shared/ports.ts";
import { forwardBatch } from "../../shared/sync/forward.ts";
import { requestFullSync } from "../../shared/sync/full/api.ts";
import { fullSyncHolder } from "../../shared/sync/full/records.ts";
import { resumeSync, saveFailoverSettings } from "../../shared/sync/operations.ts";
import { HELLO, memoryProduction } from "../support/memory-production.ts";

const SETTINGS = {
  enabled: true,
  host: "failover.example.com",
  username: "admin",
  password: "Passw0rd-1",
  suspendAfterSeconds: 120,
};

const change = (domain: string) => ({
  body: JSON.stringify({
    item: { ...domainKey(domain), kind: "domain", domain, version: 1, updatedAt: 1, data: {} },
  }),
  groupId: domain,
  deduplicationId: domain,
  receiptHandle: `handle-${domain}`,
  receiveCount: 1,
});

/** A production server whose failover fails every batch with a 503. */
function production() {
  const server = memoryProduction();
  const forward = (domain: string) =>
    forwardBatch(server.deps, [change(domain)], Date.now() + 10_000);
  return { ...server, forward };
}

async function refusal(call: Promise<unknown>): Promise<AppError | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => {
      if (error instanceof AppError) return error;
      throw error;
    },
  );
}

describe("the outage window of self-healing suspension (R9)", () => {
  it("starts again at resume: an old outage does not suspend sync at the first failure after it", async () => {
    const server = production();
    await saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: true });
    // An outage an hour ago: sync suspended, the connection recorded unreachable then.
    await server.forward("a");
    server.advance(121_000);
    await server.forward("a");
    expect((await server.deps.status.state()).state).toBe("suspended");
    server.advance(3_600_000);
    await resumeSync(server.deps);

    await server.forward("b");

    expect((await server.deps.status.state()).state).toBe("active");
    // The window runs from that failure: sustained for suspendAfterSeconds, it suspends again.
    server.advance(121_000);
    await server.forward("b");
    expect((await server.deps.status.state()).state).toBe("suspended");
  });

  it("starts again when automatic sync is turned back on", async () => {
    const server = production();
    await saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: true });
    await server.forward("a");
    await saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: false });
    server.advance(3_600_000);
    await saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: true });

    await server.forward("b");

    expect((await server.deps.status.state()).state).toBe("active");
  });
});

describe("turning automatic sync on and a full sync exclude each other (R11)", () => {
  it("a full sync requested while the failover's answer to the loop check is held is refused", async () => {
    const server = production();
    await saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: false });
    let answer: (hello: PeerHello) => void = () => {};
    let asked: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      asked = resolve;
    });
    server.peer.hello = () => {
      asked();
      return new Promise((resolve) => {
        answer = resolve;
      });
    };

    const turningOn = refusal(saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: true }));
    await held;
    const fullSync = await refusal(requestFullSync(server.deps));
    answer(HELLO);
    const autoSync = await turningOn;

    const on = (await server.deps.failover.get()).autoSync;
    const running = await fullSyncHolder(server.deps.store, server.deps.now);
    expect(on && running !== undefined).toBe(false);
    // The one that began first wins: automatic sync is on, the full sync was refused.
    expect(autoSync).toBeUndefined();
    expect(fullSync).toMatchObject({ status: 409 });
    expect(fullSync?.message).toMatch(/automatic sync is being turned on/);
  });

  it("a full sync that read the settings before automatic sync was turned on backs off", async () => {
    const server = production();
    await saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: false });
    // Hold the full sync right after it read the settings (its next read is the last run's).
    const store = server.deps.store;
    const getLocal = store.getLocal.bind(store);
    let resume: () => void = () => {};
    let reached: () => void = () => {};
    const atLastRun = new Promise<void>((resolve) => {
      reached = resolve;
    });
    store.getLocal = async <T>(name: string) => {
      if (name === "fullsync/last") {
        reached();
        await new Promise<void>((resolve) => {
          resume = resolve;
        });
      }
      return getLocal<T>(name);
    };

    const fullSync = refusal(requestFullSync(server.deps));
    await atLastRun;
    store.getLocal = getLocal;
    const autoSync = await refusal(
      saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: true }),
    );
    resume();
    const refused = await fullSync;

    const on = (await server.deps.failover.get()).autoSync;
    const running = await fullSyncHolder(server.deps.store, server.deps.now);
    expect(on && running !== undefined).toBe(false);
    expect(autoSync).toBeUndefined();
    expect(refused).toMatchObject({ status: 409 });
    expect(running).toBeUndefined();
  });
});
