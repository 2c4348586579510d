import { describe, expect, it } from "vitest";
import { SYNC_PROTOCOL } from "../../shared/sync/peer.ts";
import { apiError, failoverClient, productionClient, unique } from "../support/api.ts";
import { exclusively } from "../support/exclusive.ts";
import { TEST_NET_IP, TEST_NET_SUBSTITUTE } from "../support/global-setup.ts";
import { waitFor } from "../support/wait.ts";

const production = productionClient();
const standby = failoverClient();
type Item = Record<string, unknown> & { version: number };
type Page = { items: Item[] };

/** Resolves with the failover's item once `check` holds for it (automatic sync is asynchronous). */
function onFailover(path: string, check: (item: Item) => boolean = () => true, timeoutMs = 10_000) {
  return waitFor(
    async () => {
      const item = await standby.request<Item>("GET", path);
      return check(item) ? item : undefined;
    },
    timeoutMs,
    `${path} on the failover`,
  );
}

function goneFromFailover(path: string) {
  return waitFor(
    async () => (await apiError(standby.request("GET", path))).status === 404,
    10_000,
    `${path} deleted on the failover`,
  );
}

describe("automatic sync: every change shows on the failover (R7)", () => {
  it("creates, updates and deletes domains, users, groups and services", async () => {
    const domain = unique("auto");
    const base = `/api/domains/${domain}`;
    await production.request("PUT", base, { description: "v1" });
    await production.request("PUT", `${base}/groups/ops`, { description: "g" });
    await production.request("PUT", `${base}/users/ann`, {
      password: "ann-password-1",
      homeDirectory: "/data/ann",
      groups: ["ops"],
    });
    await production.request("PUT", `${base}/services/ftp`, {
      protocol: "FTP",
      ip: "10.1.1.1",
      port: 21,
    });

    const user = await onFailover(`${base}/users/ann`);
    expect(user).toMatchObject({ homeDirectory: "/data/ann", groups: ["ops"], passwordSet: true });
    await onFailover(`${base}/groups/ops`);
    await onFailover(`${base}/services/ftp`, (item) => item.ip === "10.1.1.1");

    await production.request("PUT", base, { description: "v2" });
    await production.request("PUT", `${base}/users/ann`, {
      homeDirectory: "/data/ann2",
      groups: [],
    });
    await onFailover(base, (item) => item.description === "v2");
    await onFailover(`${base}/users/ann`, (item) => item.homeDirectory === "/data/ann2");

    await production.request("DELETE", `${base}/services/ftp`);
    await production.request("DELETE", `${base}/groups/ops`);
    await goneFromFailover(`${base}/services/ftp`);
    await goneFromFailover(`${base}/groups/ops`);
  });

  it("replicates a user's password hash, never the password", async () => {
    const domain = unique("hash");
    await production.request("PUT", `/api/domains/${domain}`, {});
    await production.request("PUT", `/api/domains/${domain}/users/u`, {
      password: "secret-pass-1",
      homeDirectory: "/u",
    });
    const user = await onFailover(`/api/domains/${domain}/users/u`);
    expect(user.passwordSet).toBe(true);
    expect(JSON.stringify(user)).not.toContain("secret-pass-1");
  });

  it("deletes a domain's users, groups and services on the failover with it", async () => {
    const domain = unique("cascade");
    const base = `/api/domains/${domain}`;
    await production.request("PUT", base, {});
    await production.request("PUT", `${base}/users/u1`, {
      password: "password-1",
      homeDirectory: "/h",
    });
    await production.request("PUT", `${base}/groups/g1`, {});
    await onFailover(`${base}/users/u1`);
    await onFailover(`${base}/groups/g1`);

    await production.request("DELETE", base);

    await goneFromFailover(base);
    expect((await apiError(standby.request("GET", `${base}/users/u1`))).status).toBe(404);
    // Re-created, the domain comes back empty: tombstones outrank the old items (R8).
    await production.request("PUT", base, { description: "again" });
    await onFailover(base, (item) => item.description === "again");
    expect((await standby.request<Page>("GET", `${base}/users`)).items).toEqual([]);
  });

  it("replicates triggers and web settings", async () => {
    const trigger = unique("trg");
    await production.request("PUT", `/api/triggers/${trigger}`, {
      event: "Failover Synchronization",
      actions: [{ type: "email", to: ["ops@example.com"], subject: "sync" }],
    });
    await onFailover(`/api/triggers/${trigger}`);
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    await exclusively("web-settings", async () => {
      await production.request("PUT", "/api/settings/web", { enabled: true, port });
      await onFailover("/api/settings/web", (item) => item.port === port);
    });
  });
});

describe("IP substitution (R14) and run state (R13) on the way", () => {
  it("writes a service listening on a mapped IP with the substitute; others unchanged", async () => {
    const domain = unique("ips");
    await production.request("PUT", `/api/domains/${domain}`, {});
    await production.request("PUT", `/api/domains/${domain}/services/mapped`, {
      protocol: "SFTP",
      ip: TEST_NET_IP,
      port: 22,
    });
    await production.request("PUT", `/api/domains/${domain}/services/other`, {
      protocol: "SFTP",
      ip: "192.0.2.99",
      port: 22,
    });

    await onFailover(
      `/api/domains/${domain}/services/mapped`,
      (item) => item.ip === TEST_NET_SUBSTITUTE,
    );
    await onFailover(`/api/domains/${domain}/services/other`, (item) => item.ip === "192.0.2.99");
    expect(await production.request("GET", `/api/domains/${domain}/services/mapped`)).toMatchObject(
      { ip: TEST_NET_IP },
    );
  });

  it("creates a domain stopped on the failover and keeps the failover's run state on updates", async () => {
    const domain = unique("run");
    const base = `/api/domains/${domain}`;
    await production.request("PUT", base, { description: "a" });
    await production.request("POST", `${base}/start`);
    // Started on production, but new on the failover: stopped (startAfterSync is false).
    const created = await onFailover(base);
    expect(created.running).toBe(false);

    await standby.request("POST", `${base}/start`);
    await production.request("PUT", base, { description: "b" });
    await production.request("POST", `${base}/stop`);

    await onFailover(base, (item) => item.description === "b");
    await waitFor(async () => {
      const { version } = await production.request<Item>("GET", base);
      return (await standby.request<Item>("GET", base)).version >= version;
    }, 10_000);
    expect(await standby.request("GET", base)).toMatchObject({ running: true, description: "b" });
  });
});

describe("one direction (R18)", () => {
  // That the failover sends nothing back is test/integration/one-direction.test.ts: it needs
  // both regions syncing automatically, so its own runtime.
  it("a server that automatically syncs out takes no sync", async () => {
    const error = await apiError(
      production.request("POST", "/api/sync/events", { origin: "someone", changes: [] }),
    );
    expect(error).toMatchObject({ status: 409, message: expect.stringContaining("R18") });
  });
});

describe("status and test connection (R6, R20)", () => {
  it("reports the module, the queue and the lag, and tests the connection", async () => {
    const domain = unique("status");
    await production.request("PUT", `/api/domains/${domain}`, {});
    await onFailover(`/api/domains/${domain}`);

    const status = await production.request<{
      module: unknown;
      sync: { state: string };
      lag: { samples: number; p50Ms: number; p99Ms: number };
      lastEvent: unknown;
    }>("GET", "/api/failover/status");
    expect(status.module).toEqual({ enabled: true, autoSync: true });
    expect(status.sync.state).toBe("active");
    expect(status.lag.samples).toBeGreaterThan(0);
    expect(status.lag.p50Ms).toBeGreaterThanOrEqual(0);
    expect(status.lastEvent).toMatchObject({ Mode: "automatic", Primary: "local-primary" });

    const test = await production.request("POST", "/api/failover/test");
    expect(test).toMatchObject({
      ok: true,
      peer: { serverId: "local-failover", protocol: SYNC_PROTOCOL },
    });
  });
});
