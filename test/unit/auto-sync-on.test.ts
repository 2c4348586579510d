import { describe, expect, it } from "vitest";
import { AppError } from "../../shared/errors.ts";
import { forwardBatch } from "../../shared/sync/forward.ts";
import { requestFullSync } from "../../shared/sync/full/api.ts";
import { fullSyncHolder } from "../../shared/sync/full/records.ts";
import { resumeSync, saveFailoverSettings } from "../../shared/sync/operations.ts";
import { HELLO, memoryProduction, queuedChange } from "../support/memory-production.ts";

const SETTINGS = {
  enabled: true,
  host: "failover.example.com",
  username: "admin",
  password: "Passw0rd-1",
  suspendAfterSeconds: 120,
};

/** A production server whose failover fails every batch with a 503. */
function production() {
  const server = memoryProduction();
  const forward = (domain: string) =>
    forwardBatch(server.deps, [queuedChange(domain)], Date.now() + 10_000);
  return { ...server, forward };
}

/** A point where a call waits until the test opens it; `reached` once the call got there. */
function gate() {
  let arrive = () => {};
  let open = () => {};
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    reached,
    open: () => open(),
    pass: () => {
      arrive();
      return opened;
    },
  };
}

/** What R11 forbids: automatic sync on while a full sync holds the lock. */
async function bothOn({ deps }: ReturnType<typeof production>) {
  const on = (await deps.failoverSettings.get()).autoSync;
  return on && (await fullSyncHolder(deps.store, deps.now)) !== undefined;
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
  it("suspends suspendAfterSeconds after the first failure on the clock, not a millisecond before", async () => {
    const server = production();
    await saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: true });
    await server.forward("a");
    server.advance(SETTINGS.suspendAfterSeconds * 1000 - 1);
    await server.forward("a");
    expect((await server.deps.status.state()).state).toBe("active");
    server.advance(1);
    await server.forward("a");
    expect(await server.deps.status.state()).toMatchObject({
      state: "suspended",
      cause: "unreachable",
    });
  });

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
    const answer = gate();
    server.peer.hello = async () => {
      await answer.pass();
      return HELLO;
    };

    const turningOn = refusal(saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: true }));
    await answer.reached;
    const fullSync = await refusal(requestFullSync(server.deps));
    answer.open();
    const autoSync = await turningOn;

    expect(await bothOn(server)).toBe(false);
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
    const lastRun = gate();
    store.getLocal = async <T>(name: string) => {
      if (name === "fullsync/last") await lastRun.pass();
      return getLocal<T>(name);
    };

    const fullSync = refusal(requestFullSync(server.deps));
    await lastRun.reached;
    store.getLocal = getLocal;
    const autoSync = await refusal(
      saveFailoverSettings(server.deps, { ...SETTINGS, autoSync: true }),
    );
    lastRun.open();
    const refused = await fullSync;

    expect(await bothOn(server)).toBe(false);
    expect(autoSync).toBeUndefined();
    expect(refused).toMatchObject({ status: 409 });
    expect(await fullSyncHolder(server.deps.store, server.deps.now)).toBeUndefined();
  });
});
