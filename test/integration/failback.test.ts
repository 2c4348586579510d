import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { type FailbackRun, failbackTasks, requestFailback } from "../../shared/sync/failback.ts";
import { apiError } from "../support/api.ts";
import { type ProxyMode, startProxy } from "../support/proxy.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";

const run = promisify(execFile);

// Disaster recovery changes both regions' failover settings: these tests run their own runtime.
let runtime: LocalRuntime;
let production: AdminClient;
let standby: AdminClient;

type FailbackView = Omit<FailbackRun, "saved">;
type Settings = Record<string, unknown> & { enabled: boolean; autoSync: boolean };

const domain = `dr-${randomUUID().slice(0, 8)}`;

async function onFailover(path: string) {
  return waitFor(
    () => standby.request<Record<string, unknown>>("GET", path).catch(() => undefined),
    15_000,
    `${path} on the failover`,
  );
}

async function failbackEnd(failbackId: string): Promise<FailbackView> {
  return waitFor(
    async () => {
      const view = await production.request<FailbackView>(
        "GET",
        `/api/failover/failbacks/${failbackId}`,
      );
      return view.state === "running" ? undefined : view;
    },
    60_000,
    `failback ${failbackId} to end`,
  );
}

beforeAll(async () => {
  runtime = await startOwnRuntime();
  production = new AdminClient(runtime.production.url, runtime.admin);
  standby = new AdminClient(runtime.failover.url, runtime.admin);
  // Before the outage: a domain with a user, synced to the failover, where it is stopped.
  await production.request("PUT", `/api/domains/${domain}`, {});
  await production.request("PUT", `/api/domains/${domain}/users/alice`, {
    password: "alice-Passw0rd!",
    homeDirectory: "/data/alice",
  });
  await onFailover(`/api/domains/${domain}/users/alice`);
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
});

describe("disaster recovery (R19a takeover, R19 failback)", { timeout: 180_000 }, () => {
  it("takes over on the failover: starts its domains and web services, records it, once", async () => {
    expect(
      (await standby.request<{ running: boolean }>("GET", `/api/domains/${domain}`)).running,
    ).toBe(false);
    const first = await standby.request<{
      domainsStarted: number;
      webEnabled: boolean;
      at: string;
    }>("POST", "/api/failover/takeover");
    expect(first.domainsStarted).toBeGreaterThanOrEqual(1);
    expect(Date.parse(first.at)).not.toBeNaN();
    expect(
      (await standby.request<{ running: boolean }>("GET", `/api/domains/${domain}`)).running,
    ).toBe(true);
    expect(
      (await standby.request<{ lastTakeover: unknown }>("GET", "/api/failover/status"))
        .lastTakeover,
    ).toEqual({ ...first, by: runtime.admin.username });
    // Idempotent: nothing is left to start.
    const again = await standby.request<{ domainsStarted: number }>(
      "POST",
      "/api/failover/takeover",
    );
    expect(again.domainsStarted).toBe(0);
    const events = runtime.failover.bus
      .events()
      .filter((event) => event.detail.Mode === "takeover");
    expect(events.at(-2)?.detail).toMatchObject({
      Success: true,
      Items: first.domainsStarted,
      Message: expect.stringContaining(`by ${runtime.admin.username}`),
    });
  });

  it("fails back: stops at the failed step and says why, resumes to the end, production holds the failover's changes and syncs again", async () => {
    const before = await production.request<Settings>("GET", "/api/failover");
    // During the outage the failover served, and changed things.
    await standby.request("PUT", `/api/domains/${domain}/users/bob`, {
      password: "bob-Passw0rd!",
      homeDirectory: "/data/bob",
    });
    await standby.request("DELETE", `/api/domains/${domain}/users/alice`);

    // The failover reaches production through a proxy that first breaks the full sync.
    let broken = true;
    const proxy = await startProxy(
      runtime.production.url,
      (path): ProxyMode =>
        broken && path.startsWith("/api/sync/full/") ? { kind: "lose-answer" } : { kind: "pass" },
    );
    try {
      const { failbackId } = await production.request<{ failbackId: string }>(
        "POST",
        "/api/failover/failback",
        {
          production: {
            host: "127.0.0.1",
            port: proxy.port,
            useTls: false,
            ...runtime.admin,
          },
        },
      );
      // One at a time.
      const second = await apiError(production.request("POST", "/api/failover/failback", {}));
      expect(second).toMatchObject({ status: 409, message: expect.stringContaining(failbackId) });

      const failed = await failbackEnd(failbackId);
      expect(failed).toMatchObject({ state: "failed", step: "fullSyncToProduction" });
      expect(failed.steps.map((step) => step.state)).toEqual([
        "succeeded",
        "succeeded",
        "failed",
        "pending",
        "pending",
        "pending",
      ]);
      expect(failed.steps[2]?.reason).toMatch(/full sync .* failover → production failed/);
      // R18 where it stopped: neither side syncs out, so each takes sync from the other.
      expect((await production.request<Settings>("GET", "/api/failover")).enabled).toBe(false);
      expect(await standby.request<Settings>("GET", "/api/failover")).toMatchObject({
        enabled: true,
        autoSync: false,
      });

      broken = false;
      const resumed = await production.request<{ failbackId: string }>(
        "POST",
        "/api/failover/failback",
        { resume: failbackId },
      );
      expect(resumed.failbackId).toBe(failbackId);
      const done = await failbackEnd(failbackId);
      expect(done.state).toBe("succeeded");
      expect(done.steps.every((step) => step.state === "succeeded")).toBe(true);
    } finally {
      await proxy.stop();
    }

    // Production holds what the failover served, and serves it (R13: startAfterSync).
    expect(await production.request("GET", `/api/domains/${domain}/users/bob`)).toMatchObject({
      username: "bob",
    });
    expect(
      (await apiError(production.request("GET", `/api/domains/${domain}/users/alice`))).status,
    ).toBe(404);
    expect(
      (await production.request<{ running: boolean }>("GET", `/api/domains/${domain}`)).running,
    ).toBe(true);
    // Its failover settings as they were (password included), and the two sides equal.
    expect(await production.request<Settings>("GET", "/api/failover")).toEqual(before);
    expect(
      (await production.request<{ differences: number }>("GET", "/api/failover/drift")).differences,
    ).toBe(0);
    // Automatic sync flows production → failover again…
    await production.request("PUT", `/api/domains/${domain}/users/carol`, {
      password: "carol-Passw0rd!",
      homeDirectory: "/data/carol",
    });
    await onFailover(`/api/domains/${domain}/users/carol`);
    // …and the failover cannot be turned into a sender back to production (R18: no loop).
    const { passwordSet: _set, ...standbySettings } = await standby.request<Settings>(
      "GET",
      "/api/failover",
    );
    expect(standbySettings.enabled).toBe(false);
    const loop = await apiError(
      standby.request("PUT", "/api/failover", {
        ...standbySettings,
        port: Number(new URL(runtime.production.url).port),
        password: runtime.admin.password,
        enabled: true,
        autoSync: true,
      }),
    );
    expect(loop).toMatchObject({ status: 409, message: expect.stringContaining("loop (R18)") });
  });

  it("stops at verify when production still differs from the failover; resuming copies again", async () => {
    // The state machine's loop, by hand (its ASL is tested on its own), to act before step 5.
    const deps = { ...runtime.production.services, failbackRunner: { start: async () => {} } };
    const tasks = failbackTasks(deps);
    const drift = `drift-${randomUUID().slice(0, 8)}`;
    let drifted = false;
    async function runToEnd(failbackId: string) {
      for (;;) {
        const { next } = await tasks.begin({ failbackId });
        if (next === "done") return tasks.finish({ failbackId });
        if (next === "verify" && !drifted) {
          // Production's failover settings are off since step 1: this stays on production.
          await production.request("PUT", `/api/domains/${domain}/groups/${drift}`, {});
          drifted = true;
        }
        try {
          while (!(await tasks.step({ failbackId, step: next })).done);
        } catch (error) {
          return tasks.fail({
            failbackId,
            error: { Error: "FailbackError", Cause: (error as Error).message },
          });
        }
      }
    }
    const { failbackId } = await requestFailback(deps, {
      production: {
        host: "127.0.0.1",
        port: Number(new URL(runtime.production.url).port),
        useTls: false,
        ...runtime.admin,
      },
    });

    const failed = await runToEnd(failbackId);
    expect(failed?.state).toBe("failed");
    expect(failed?.steps.find((step) => step.name === "verify")).toMatchObject({
      state: "failed",
      reason: expect.stringContaining(drift),
    });
    expect(failed?.steps.find((step) => step.name === "reenableProduction")?.state).toBe("pending");

    await requestFailback(deps, { resume: failbackId });
    const resumed = await production.request<FailbackView>(
      "GET",
      `/api/failover/failbacks/${failbackId}`,
    );
    expect(resumed.steps.map((step) => step.state)).toEqual([
      "succeeded",
      "pending",
      "pending",
      "pending",
      "pending",
      "pending",
    ]);
    expect((await runToEnd(failbackId))?.state).toBe("succeeded");
    // The second copy made production equal to the failover again: the drift is gone.
    expect(
      (await apiError(production.request("GET", `/api/domains/${domain}/groups/${drift}`))).status,
    ).toBe(404);
    expect(await production.request<Settings>("GET", "/api/failover")).toMatchObject({
      enabled: true,
      autoSync: true,
    });
  });

  it("from the CLI: `failover takeover` on the failover, `failback` on production, step by step", async () => {
    const cli = async (url: string, ...args: string[]) => {
      try {
        const { stdout } = await run("node", ["bin/mft-failover.js", ...args], {
          env: { ...process.env, MFT_URL: url, MFT_ADMIN_PASSWORD: runtime.admin.password },
        });
        return { code: 0, stdout };
      } catch (error) {
        return error as { code: number; stdout: string };
      }
    };
    const takeover = await cli(runtime.failover.url, "--json", "failover", "takeover");
    expect(takeover.code).toBe(0);
    expect(JSON.parse(takeover.stdout)).toMatchObject({ domainsStarted: expect.any(Number) });

    const failback = await cli(runtime.production.url, "failback");
    expect(failback.code).toBe(0);
    const lines = failback.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^failback [0-9a-f-]{36}$/);
    expect(lines.slice(1, 7)).toEqual([
      expect.stringMatching(/^ {2}1\. disableProduction +succeeded$/),
      expect.stringMatching(/^ {2}2\. pointFailoverAtProduction +succeeded$/),
      expect.stringMatching(/^ {2}3\. fullSyncToProduction +succeeded$/),
      expect.stringMatching(/^ {2}4\. disableFailover +succeeded$/),
      expect.stringMatching(/^ {2}5\. verify +succeeded$/),
      expect.stringMatching(/^ {2}6\. reenableProduction +succeeded$/),
    ]);
    expect(lines.at(-1)).toMatch(/^done/);

    const unknown = await cli(runtime.production.url, "failback", "--resume", randomUUID());
    expect(unknown.code).toBe(1);
  });

  it("refuses a failback without a failover to come back from, and an unknown resume", async () => {
    expect(
      (
        await apiError(
          production.request("POST", "/api/failover/failback", { resume: randomUUID() }),
        )
      ).status,
    ).toBe(404);
    expect((await apiError(standby.request("POST", "/api/failover/failback", {}))).message).toMatch(
      /^failover: /,
    );
  });
});
