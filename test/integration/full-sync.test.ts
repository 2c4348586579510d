import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import type { LocalRegion, LocalRuntime } from "../../infra/local/runtime.ts";
import { type ConfigItem, isReplicated } from "../../shared/model/items.ts";
import type { StoredRecord } from "../../shared/ports.ts";
import { canonicalJson, EMPTY_DIGEST } from "../../shared/sync/full/digest.ts";
import { FullSyncRecords, type FullSyncView } from "../../shared/sync/full/records.ts";
import { fullSyncTasks } from "../../shared/sync/full/tasks.ts";
import { RUN_LOCK_TTL_MS, RunLock } from "../../shared/sync/run.ts";
import { toFailover } from "../../shared/sync/transform.ts";
import { generatedConfiguration } from "../bench/full-sync-data.ts";
import { apiError } from "../support/api.ts";
import { startProxy } from "../support/proxy.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";

// Full sync is refused while automatic sync is on, which the shared runtime of the other tests
// has on: these tests run their own runtime.
let runtime: LocalRuntime;
let production: AdminClient;
let standby: AdminClient;

const SUBSTITUTIONS = [{ ip: "10.0.0.10", substituteIp: "192.168.50.10" }];

/** Production's failover settings, pointing at the failover (or at `port`, e.g. a proxy). */
async function configure(
  options: {
    autoSync?: boolean;
    startAfterSync?: boolean;
    port?: number;
    suspendAfterSeconds?: number;
  } = {},
) {
  const url = new URL(runtime.failover.url);
  await production.request("PUT", "/api/failover", {
    enabled: true,
    host: url.hostname,
    port: options.port ?? Number(url.port),
    useTls: false,
    timeoutMs: 5000,
    username: runtime.admin.username,
    password: runtime.admin.password,
    autoSync: options.autoSync ?? false,
    startAfterSync: options.startAfterSync ?? false,
    ...(options.suspendAfterSeconds ? { suspendAfterSeconds: options.suspendAfterSeconds } : {}),
    ipSubstitutions: SUBSTITUTIONS,
  });
}

async function fullSync(): Promise<FullSyncView> {
  const { syncId } = await production.request<{ syncId: string }>(
    "POST",
    "/api/failover/synchronize",
  );
  const view = await waitFor(
    async () => {
      const view = await production.request<FullSyncView>("GET", `/api/failover/syncs/${syncId}`);
      return view.state === "running" ? undefined : view;
    },
    60_000,
    `full sync ${syncId} to end`,
  );
  // The run's record ends just before its execution releases the lock: wait for that too.
  await runtime.production.fullSync.wait(syncId);
  return view;
}

/** Every replicated record of a region (tombstones included), by key. */
async function records(region: LocalRegion): Promise<Map<string, StoredRecord>> {
  const all = new Map<string, StoredRecord>();
  for (let segment = 0; segment < 4; segment++) {
    let cursor: string | undefined;
    do {
      const page = await region.services.bulk.scan(segment, 4, {
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      for (const record of page.items)
        if (isReplicated(record)) all.set(`${record.pk}|${record.sk}`, record);
      cursor = page.cursor;
    } while (cursor);
  }
  return all;
}

/** What the failover must hold after a full sync: production, with R13 and R14 applied. */
async function expectedFailover(startAfterSync: boolean) {
  const expected = new Map<string, string>();
  for (const [key, record] of await records(runtime.production)) {
    const item = record as unknown as ConfigItem;
    const copy = item.deleted
      ? item
      : toFailover(item, { ipSubstitutions: SUBSTITUTIONS, startAfterSync });
    expected.set(key, canonicalJson(copy));
  }
  return expected;
}

async function actualFailover() {
  const actual = new Map<string, string>();
  for (const [key, record] of await records(runtime.failover))
    actual.set(key, canonicalJson(record));
  return actual;
}

beforeAll(async () => {
  runtime = await startOwnRuntime({ heartbeatSeconds: 1 });
  production = new AdminClient(runtime.production.url, runtime.admin);
  standby = new AdminClient(runtime.failover.url, runtime.admin);
  await configure();
});

afterAll(async () => {
  await runtime?.stop();
});

describe("full sync (R11–R15)", { timeout: 120_000 }, () => {
  it("makes the failover an exact copy: extra domains go, its own failover settings stay", async () => {
    const domain = `fs-${randomUUID().slice(0, 8)}`;
    await production.request("PUT", `/api/domains/${domain}`, { description: "copied" });
    await production.request("POST", `/api/domains/${domain}/start`);
    await production.request("PUT", `/api/domains/${domain}/users/ann`, {
      password: "ann-password-1",
      homeDirectory: `/tmp/mft-full-sync-${randomUUID()}/ann`,
    });
    await production.request("PUT", `/api/domains/${domain}/services/sftp`, {
      protocol: "SFTP",
      ip: "10.0.0.10",
      port: 22,
    });
    await production.request("PUT", "/api/settings/web", { enabled: true, port: 8443 });
    // The failover has a domain production does not have, and failover settings of its own;
    // the operator started the domain both have there (R2: the failover's own run state).
    await standby.request("PUT", "/api/domains/only-on-failover", {});
    await standby.request("PUT", `/api/domains/${domain}`, { description: "by hand" });
    await standby.request("POST", `/api/domains/${domain}/start`);
    const ownSettings = {
      enabled: false,
      host: "backup.example.com",
      port: 8443,
      username: "ops",
      password: "failover-own-password",
    };
    await standby.request("PUT", "/api/failover", ownSettings);
    const before = await standby.request("GET", "/api/failover");

    const view = await fullSync();

    expect(view).toMatchObject({ state: "succeeded", step: "finish", errors: [] });
    expect(view.items.total).toBeGreaterThanOrEqual(4);
    expect(await actualFailover()).toEqual(await expectedFailover(false));
    expect((await apiError(standby.request("GET", "/api/domains/only-on-failover"))).status).toBe(
      404,
    );
    expect(await standby.request("GET", "/api/failover")).toEqual(before);
    // R13: stopped on the failover; R14: the service listens on the substitute.
    expect(await standby.request("GET", `/api/domains/${domain}`)).toMatchObject({
      running: false,
    });
    expect(await standby.request("GET", "/api/settings/web")).toMatchObject({ enabled: false });
    expect(await standby.request("GET", `/api/domains/${domain}/services/sftp`)).toMatchObject({
      ip: "192.168.50.10",
    });
    // R15: the home-directory path is copied; no file or directory is made for it.
    const user = await standby.request<{ homeDirectory: string }>(
      "GET",
      `/api/domains/${domain}/users/ann`,
    );
    expect(user.homeDirectory).toMatch(/^\/tmp\/mft-full-sync-/);
    expect(existsSync(user.homeDirectory)).toBe(false);
    // R20: the status shows the last full sync.
    const status = await production.request<{ lastFullSync: { syncId: string } }>(
      "GET",
      "/api/failover/status",
    );
    expect(status.lastFullSync.syncId).toBe(view.syncId);
  });

  it("answers 409 while automatic sync is on, and 400 where no failover is configured (R11)", async () => {
    await configure({ autoSync: true });
    try {
      const error = await apiError(production.request("POST", "/api/failover/synchronize"));
      expect(error.status).toBe(409);
      expect(error.message).toMatch(/automatic synchronization is on/);
    } finally {
      await configure();
    }
    // The failover region has no failover of its own configured.
    await standby.request("PUT", "/api/failover", { enabled: false });
    const error = await apiError(standby.request("POST", "/api/failover/synchronize"));
    expect(error.status).toBe(400);
    expect((await apiError(production.request("GET", "/api/failover/syncs/nope"))).status).toBe(
      404,
    );
  });

  it("ends a run whose execution stopped without recording its end as failed, by the monitor (R11)", async () => {
    // What a timed-out or stopped execution leaves: its record running, its lock not renewed.
    const cutOff = randomUUID();
    const longAgo = Date.now() - 3 * 3600_000;
    const records = new FullSyncRecords(runtime.production.services.store);
    await records.put({
      syncId: cutOff,
      state: "running",
      step: "copy",
      startedAt: new Date(longAgo).toISOString(),
      primary: runtime.production.serverId,
    });
    await records.setLast(cutOff);
    const lock = new RunLock(runtime.production.services.store, () => longAgo);
    expect(await lock.acquire(cutOff, RUN_LOCK_TTL_MS)).toEqual({ ok: true });

    // The monitor's heartbeat schedule (every second in this runtime) finds it.
    const ended = await waitFor(
      async () => {
        const view = await production.request<FullSyncView>("GET", `/api/failover/syncs/${cutOff}`);
        return view.state === "running" ? undefined : view;
      },
      10_000,
      "the cut-off run to be ended",
    );
    expect(ended).toMatchObject({
      state: "failed",
      reason: expect.stringMatching(/^copy: .*timed out or was stopped/),
    });
    expect(ended.finishedAt).not.toBeNull();
    // The event follows the record's end (the monitor writes the record, then publishes).
    const events = await waitFor(
      () => {
        const found = runtime.production.bus.events().filter((e) => e.detail.SyncId === cutOff);
        return found.length > 0 ? found : undefined;
      },
      10_000,
      "the cut-off run's event",
    );
    expect(events.map((event) => event.detail)).toEqual([
      expect.objectContaining({ Success: false, Mode: "on-demand", Reason: ended.reason }),
    ]);
    expect((await fullSync()).state).toBe("succeeded");
  });

  it("renews the lock from each Task; a run whose lock lapsed cannot write once a newer run has (R11)", async () => {
    const { store } = runtime.production.services;
    const ttl = RUN_LOCK_TTL_MS;
    // A run's Tasks, three quarters of the lock's time after it took the lock.
    const later = () => Date.now() + 0.75 * ttl;
    const tasks = fullSyncTasks({ ...runtime.production.services, now: later });
    const lapsed = randomUUID();
    await new FullSyncRecords(store).put({
      syncId: lapsed,
      state: "running",
      step: "copy",
      startedAt: new Date().toISOString(),
      primary: runtime.production.serverId,
    });
    expect(await new RunLock(store).acquire(lapsed, ttl)).toEqual({ ok: true });
    const segment = {
      syncId: lapsed,
      segment: 0,
      totalSegments: 1,
      done: false,
      records: 0,
      items: 0,
      domains: 0,
      digest: EMPTY_DIGEST,
    };
    // The next Task renews the lock.
    const before = later();
    await tasks.verifySegment({ state: segment });
    const renewed = await store.getLocal<{ holder: string; expiresAt: number; acquiredAt: number }>(
      "fullsync/lock",
    );
    expect(renewed?.holder).toBe(lapsed);
    expect(renewed?.expiresAt).toBeGreaterThanOrEqual(before + ttl);

    // Then its lock lapses, and a newer run takes it and reaches the failover.
    await new RunLock(store).release(lapsed);
    expect((await fullSync()).state).toBe("succeeded");
    // The lapsed run's Task stops before sending anything…
    await expect(tasks.copySegment({ state: segment })).rejects.toMatchObject({
      name: "LockLost",
    });
    // …and had it sent (a request already under way), the failover refuses its old token.
    const error = await apiError(
      standby.request("POST", "/api/sync/full/items", {
        origin: runtime.production.serverId,
        syncId: lapsed,
        fence: renewed?.acquiredAt,
        items: [],
      }),
    );
    expect(error).toMatchObject({ status: 409, message: expect.stringContaining("overtaken") });
  });

  it("refuses to turn automatic sync on while a run holds the lock (R11)", async () => {
    const { syncId } = await production.request<{ syncId: string }>(
      "POST",
      "/api/failover/synchronize",
    );
    try {
      const error = await apiError(configure({ autoSync: true }));
      expect(error.status).toBe(409);
      expect(error.message).toContain(`full sync ${syncId} is running`);
      expect(
        (await production.request<{ autoSync: boolean }>("GET", "/api/failover")).autoSync,
      ).toBe(false);
    } finally {
      await runtime.production.fullSync.wait(syncId);
    }
  });

  it("answers 409 while a run is active", async () => {
    const { syncId } = await production.request<{ syncId: string }>(
      "POST",
      "/api/failover/synchronize",
    );
    const error = await apiError(production.request("POST", "/api/failover/synchronize"));
    expect(error.status).toBe(409);
    expect(error.message).toContain(syncId);
    await runtime.production.fullSync.wait(syncId);
  });

  it("starts domains and web services after the copy when startAfterSync is set (R13)", async () => {
    const domain = `fs-${randomUUID().slice(0, 8)}`;
    await production.request("PUT", `/api/domains/${domain}`, {});
    await configure({ startAfterSync: true });
    try {
      const view = await fullSync();
      expect(view.state).toBe("succeeded");
      expect(await actualFailover()).toEqual(await expectedFailover(true));
      expect(await standby.request("GET", `/api/domains/${domain}`)).toMatchObject({
        running: true,
      });
    } finally {
      await configure();
    }
  });

  it("fails with Success: false when the failover dies mid-copy, and a re-run repairs it", async () => {
    const domain = `big-${randomUUID().slice(0, 8)}`;
    for await (const batch of generatedConfiguration({
      domains: 4,
      users: 1200,
      origin: runtime.production.serverId,
      prefix: domain,
    }))
      await runtime.production.services.bulk.putAll(batch);
    // After two pages of items, the failover's answers are lost: it "dies" mid-copy.
    let pages = 0;
    const proxy = await startProxy(runtime.failover.url, (path) =>
      path === "/api/sync/full/items" && ++pages > 2 ? { kind: "lose-answer" } : { kind: "pass" },
    );
    try {
      await configure({ port: proxy.port });
      const failed = await fullSync();
      expect(failed.state).toBe("failed");
      expect(failed.step).toBe("copy");
      expect(failed.reason).toMatch(/^copy: /);
      expect(await actualFailover()).not.toEqual(await expectedFailover(false));
      const event = runtime.production.bus
        .events()
        .find((published) => published.detail.SyncId === failed.syncId);
      expect(event?.detail).toMatchObject({
        Success: false,
        Mode: "on-demand",
        Reason: failed.reason,
      });
    } finally {
      await proxy.stop();
    }
    await configure();
    const repaired = await fullSync();
    expect(repaired.state).toBe("succeeded");
    expect(await actualFailover()).toEqual(await expectedFailover(false));
    expect(repaired.domains.done).toBeGreaterThanOrEqual(4);
    expect(
      runtime.production.bus.events().find((e) => e.detail.SyncId === repaired.syncId)?.detail,
    ).toMatchObject({ Success: true, Mode: "on-demand", Items: repaired.items.total });
  });

  it("supersedes held automatic-sync changes: a change deleted before the copy does not come back on redrive (R12)", async () => {
    const domain = `held-${randomUUID().slice(0, 8)}`;
    // Automatic sync on, failover down for good: the changes are held in the queue (R9).
    await runtime.failover.setOnline(false);
    try {
      await configure({ autoSync: true, suspendAfterSeconds: 1 });
    } catch {
      // The loop check cannot reach the failover; the settings are saved anyway.
    }
    await production.request("PUT", `/api/domains/${domain}`, { description: "held" });
    await production.request("PUT", `/api/domains/${domain}/groups/ops`, {});
    await waitFor(
      async () =>
        (await production.request<{ sync: { state: string } }>("GET", "/api/failover/status")).sync
          .state === "suspended",
      20_000,
      "automatic sync to suspend",
    );
    // Automatic sync off; the domain is deleted on production; the failover comes back.
    await configure();
    await production.request("DELETE", `/api/domains/${domain}`);
    await runtime.failover.setOnline(true);
    const view = await fullSync();
    expect(view.state).toBe("succeeded");
    expect(await actualFailover()).toEqual(await expectedFailover(false));

    // Automatic sync on again, resumed: the held create is redriven and must be stale.
    await configure({ autoSync: true });
    await production.request("POST", "/api/failover/resume");
    await waitFor(
      async () => {
        const { queue } = await production.request<{
          queue: { queued: number; inFlight: number; deadLettered: number };
        }>("GET", "/api/failover/status");
        return queue.queued + queue.inFlight + queue.deadLettered === 0;
      },
      20_000,
      "the held changes to drain",
    );
    expect((await apiError(standby.request("GET", `/api/domains/${domain}`))).status).toBe(404);
    await configure();
  });

  it("copies any small configuration exactly, with IP substitution and run state (property)", async () => {
    const ips = ["10.0.0.10", "10.0.0.11", "2001:db8::1"];
    const config = fc.record({
      domains: fc.array(
        fc.record({
          running: fc.boolean(),
          users: fc.uniqueArray(fc.constantFrom("ann", "bob", "cy"), { maxLength: 2 }),
          groups: fc.uniqueArray(fc.constantFrom("ops", "dev"), { maxLength: 2 }),
          services: fc.uniqueArray(
            fc.record({ id: fc.constantFrom("a", "b", "c"), ip: fc.constantFrom(...ips) }),
            { maxLength: 3, selector: (service) => service.id },
          ),
          deleteOne: fc.boolean(),
        }),
        { minLength: 1, maxLength: 2 },
      ),
      web: fc.option(
        fc.record({ enabled: fc.boolean(), port: fc.integer({ min: 1, max: 65535 }) }),
      ),
      startAfterSync: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(config, async ({ domains, web, startAfterSync }) => {
        for (const spec of domains) {
          const base = `/api/domains/p-${randomUUID().slice(0, 8)}`;
          await production.request("PUT", base, { description: "property" });
          if (spec.running) await production.request("POST", `${base}/start`);
          for (const group of spec.groups)
            await production.request("PUT", `${base}/groups/${group}`, {});
          for (const username of spec.users)
            await production.request("PUT", `${base}/users/${username}`, {
              password: "a-password-1",
              homeDirectory: `/home/${username}`,
              groups: spec.groups,
            });
          for (const service of spec.services)
            await production.request("PUT", `${base}/services/${service.id}`, {
              protocol: "SFTP",
              ip: service.ip,
              port: 22,
            });
          if (spec.deleteOne && spec.services[0])
            await production.request("DELETE", `${base}/services/${spec.services[0].id}`);
        }
        if (web) await production.request("PUT", "/api/settings/web", web);
        await configure({ startAfterSync });
        const view = await fullSync();
        expect(view.state).toBe("succeeded");
        expect(await actualFailover()).toEqual(await expectedFailover(startAfterSync));
      }),
      { numRuns: 5 },
    );
    await configure();
  });
});
