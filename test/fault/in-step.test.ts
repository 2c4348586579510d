import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import { createMonitorHandler } from "../../functions/monitor/app.ts";
import { lambdaContext } from "../../infra/local/lambda-context.ts";
import type { LocalRegion, LocalRuntime } from "../../infra/local/runtime.ts";
import type { SyncEvent } from "../../shared/sync/events.ts";
import { type DriftReport, VERIFY_SETTLE_MS, verify } from "../../shared/sync/verify.ts";
import { apiError, unique } from "../support/api.ts";
import { movableClock } from "../support/clock.ts";
import { startProxy } from "../support/proxy.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";

/**
 * Knowing the failover is in step (R2, R9, R20, R21): outages, heartbeats and verify need a
 * failover that can die and a heartbeat of a second, so this file runs its own two regions.
 * Its tests run one after another; each leaves sync active and the failover online.
 * Both regions run on `clock`: a test lets the rules' time pass by moving it, not by sleeping.
 */
const HEARTBEAT_SECONDS = 1;
const clock = movableClock();
let runtime: LocalRuntime;
let production: AdminClient;
let standby: AdminClient;

interface Status {
  lastVerify: { checkedAt: string; differences: number } | null;
  sync: { state: string; reason?: string; cause?: string };
  connection: { state: string; since: string } | null;
  heartbeat: {
    intervalSeconds: number | null;
    lastSentAt: string | null;
    lastAppliedAt: string | null;
    lagMs: number | null;
    missed: boolean;
  };
  queue: { queued: number; inFlight: number; deadLettered: number };
  lag: { samples: number };
}

beforeAll(async () => {
  runtime = await startOwnRuntime({ heartbeatSeconds: HEARTBEAT_SECONDS, now: clock.now });
  production = new AdminClient(runtime.production.url, runtime.admin);
  standby = new AdminClient(runtime.failover.url, runtime.admin);
});
afterAll(async () => {
  await runtime?.stop();
});

const status = () => production.request<Status>("GET", "/api/failover/status");
const failoverPort = () => Number(new URL(runtime.failover.url).port);

async function pointAt(port: number, healing: Record<string, unknown> = {}) {
  await production.request("PUT", "/api/failover", {
    enabled: true,
    host: "127.0.0.1",
    port,
    useTls: false,
    timeoutMs: 2000,
    username: runtime.admin.username,
    password: runtime.admin.password,
    autoSync: true,
    ...healing,
  });
}

/** Production's sync events published after `from` (an index into the bus's history). */
const eventsSince = (from: number): SyncEvent[] => runtime.production.bus.events().slice(from);

async function drained() {
  await waitFor(
    async () => {
      const current = await status();
      return (
        current.sync.state === "active" &&
        current.queue.queued + current.queue.inFlight + current.queue.deadLettered === 0
      );
    },
    20_000,
    "sync active and the queue drained",
  );
}

/**
 * Creates groups in `domain` on production at `perSecond` (a tick every 100 ms) until stopped;
 * a failed write fails the test at `stop`.
 */
function steadyLoad(domain: string, perSecond: number) {
  let written = 0;
  let failure: unknown;
  const perTick = Math.max(1, Math.round(perSecond / 10));
  const timer = setInterval(() => {
    for (let n = 0; n < perTick; n++) {
      // A new group each time: two writes of one group in flight at once would conflict (409).
      production
        .request("PUT", `/api/domains/${domain}/groups/g${written + n}`, { description: "load" })
        .catch((error: unknown) => {
          failure ??= error;
        });
    }
    written += perTick;
  }, 100);
  return {
    written: () => written,
    async stop() {
      clearInterval(timer);
      if (failure) throw failure;
    },
  };
}

/** A region's monitor function, as its schedules invoke it. */
const monitorOf = (region: LocalRegion) =>
  createMonitorHandler({ ...region.services, logger: new Logger({ logLevel: "SILENT" }) });
const context = () => lambdaContext("monitor", 60_000);

/**
 * Runs production's heartbeat `times` times now, as its schedule does every interval: the test
 * knows they ran instead of sleeping for as many intervals.
 */
async function heartbeats(times: number) {
  const monitor = monitorOf(runtime.production);
  for (let n = 0; n < times; n++)
    await monitor({ task: "heartbeat", intervalSeconds: HEARTBEAT_SECONDS }, context());
}

/**
 * With the failover offline and a change on its way: waits for forward's first failure (R9's
 * window starts), then lets `suspendAfterSeconds` pass on the clock; the next attempt suspends.
 * The clock moves no further than the window's end: a rule that waits longer is not met.
 */
async function outlastWindow() {
  const { suspendAfterSeconds } = await production.request<{ suspendAfterSeconds: number }>(
    "GET",
    "/api/failover",
  );
  const unreachable = await waitFor(async () => {
    const current = await status();
    return current.connection?.state === "unreachable" ? current : undefined;
  }, 10_000);
  expect(unreachable.sync.state).toBe("active");
  return waitFor(
    async () => {
      const current = await status();
      if (current.sync.state === "suspended") return current;
      // To the window's end from the outage's recorded start: a batch that read the connection
      // before the first failure was recorded starts the window again, a little later.
      const { connection } = current;
      if (connection?.state === "unreachable") {
        const end = Date.parse(connection.since) + suspendAfterSeconds * 1000;
        clock.move(Math.max(0, end - clock.now()));
      }
      return undefined;
    },
    20_000,
    "sync to be suspended",
  );
}

/** Waits until production's verify finds neither drift nor anything pending. */
async function verifiesInStep(timeoutMs: number, what: string) {
  await waitFor(
    async () => {
      const report = await production.request<DriftReport>("GET", "/api/failover/drift");
      return report.differences === 0 && report.pending === 0;
    },
    timeoutMs,
    what,
  );
}

describe("run state is local (R2)", () => {
  it("a domain started on the failover still takes production's later changes", async () => {
    const domain = unique("acme");
    await production.request("PUT", `/api/domains/${domain}`, { description: "old" });
    await waitFor(() => standby.request("GET", `/api/domains/${domain}`), 10_000);

    // Production reaches the failover through a proxy that dies; the operator still can.
    const proxy = await startProxy(runtime.failover.url, () => ({ kind: "pass" }));
    await pointAt(proxy.port);
    await proxy.stop();
    await production.request("PUT", `/api/domains/${domain}`, { description: "new" });
    await waitFor(async () => (await status()).connection?.state === "unreachable", 10_000);
    const started = await standby.request<{ running: boolean; version: number }>(
      "POST",
      `/api/domains/${domain}/start`,
    );
    expect(started.running).toBe(true);

    await pointAt(failoverPort());
    const held = await waitFor(
      async () => {
        const item = await standby.request<{ description: string; running: boolean }>(
          "GET",
          `/api/domains/${domain}`,
        );
        return item.description === "new" ? item : undefined;
      },
      40_000,
      "production's held change on the failover",
    );
    expect(held.running).toBe(true);
    // Production's own run state did not travel either.
    await production.request("POST", `/api/domains/${domain}/start`);
    await production.request("POST", `/api/domains/${domain}/stop`);
    await production.request("PUT", `/api/domains/${domain}`, { description: "newer" });
    await waitFor(
      async () =>
        (await standby.request<{ description: string }>("GET", `/api/domains/${domain}`))
          .description === "newer",
      10_000,
    );
    expect(
      (await standby.request<{ running: boolean }>("GET", `/api/domains/${domain}`)).running,
    ).toBe(true);
    await drained();
  });
});

describe("heartbeat (R20)", () => {
  it("keeps the lag current while nothing changes, and shows unreachable when the failover is down", async () => {
    const before = await status();
    const applied = await waitFor(async () => {
      const current = await status();
      return current.heartbeat.lastAppliedAt !== null &&
        current.heartbeat.lastAppliedAt !== before.heartbeat.lastAppliedAt
        ? current
        : undefined;
    }, 5_000);
    expect(applied.heartbeat).toMatchObject({ intervalSeconds: HEARTBEAT_SECONDS, missed: false });
    expect(applied.heartbeat.lagMs).toBeGreaterThanOrEqual(0);
    expect(applied.connection?.state).toBe("connected");
    expect(applied.lag.samples).toBeGreaterThan(0);

    const beatsBefore = runtime.production.metrics.values("HeartbeatMissed").length;
    await runtime.failover.setOnline(false);
    try {
      const down = await waitFor(
        async () => {
          const current = await status();
          return current.connection?.state === "unreachable" ? current : undefined;
        },
        2 * HEARTBEAT_SECONDS * 1000 + 3_000,
        "the connection to show unreachable",
      );
      expect(down.sync.state).toBe("active");
      // Not applied within two intervals: missed, in the status and as a metric. The intervals
      // pass on the clock with a heartbeat each (one jump would read as a paused heartbeat).
      for (let n = 0; n < 3; n++) {
        clock.move(HEARTBEAT_SECONDS * 1000);
        await heartbeats(1);
      }
      expect((await status()).heartbeat.missed).toBe(true);
      expect(runtime.production.metrics.values("HeartbeatMissed").slice(beatsBefore)).toContain(1);
    } finally {
      await runtime.failover.setOnline(true);
    }
    await waitFor(async () => {
      const current = await status();
      return current.connection?.state === "connected" && !current.heartbeat.missed;
    }, 40_000);
    await drained();
  });
});

describe("self-healing suspension (R9)", () => {
  it("an outage shorter than suspendAfterSeconds heals by itself without suspending", async () => {
    await pointAt(failoverPort());
    const domain = unique("blip");
    const from = runtime.production.bus.events().length;
    await runtime.failover.setOnline(false);
    await production.request("PUT", `/api/domains/${domain}`, { description: "during" });
    // Forward failed, well within the window (its edges: auto-sync-on.test.ts): not suspended.
    await waitFor(async () => (await status()).connection?.state === "unreachable", 5_000);
    await runtime.failover.setOnline(true);
    await waitFor(
      async () =>
        (await standby.request<{ description: string }>("GET", `/api/domains/${domain}`))
          .description === "during",
      40_000,
      "the change made during the outage",
    );
    expect((await status()).sync.state).toBe("active");
    expect(eventsSince(from).filter((event) => !event.detail.Success)).toEqual([]);
    await drained();
  });

  it("a longer outage suspends once and resumes by itself when the failover answers", async () => {
    // The default window (two minutes) passes on the clock.
    await pointAt(failoverPort());
    const domain = unique("outage");
    const from = runtime.production.bus.events().length;
    const failuresBefore = runtime.production.metrics.values("SyncFailures").length;
    await runtime.failover.setOnline(false);
    try {
      await production.request("PUT", `/api/domains/${domain}`, { description: "held" });
      const suspended = await outlastWindow();
      expect(suspended.sync).toMatchObject({
        cause: "unreachable",
        reason: expect.stringMatching(/cannot connect/),
      });
      // Heartbeats go on while suspended: their probes fail, and nothing more is announced.
      await heartbeats(3);
      const failures = eventsSince(from).filter((event) => !event.detail.Success);
      expect(failures).toHaveLength(1);
      expect(failures[0]?.detail.Reason).toMatch(/suspended/);
      expect(runtime.production.metrics.values("SyncFailures").length).toBe(failuresBefore + 1);
    } finally {
      await runtime.failover.setOnline(true);
    }
    // The state is recorded first, the event right after it.
    await waitFor(
      () =>
        eventsSince(from).some(
          (event) => event.detail.Success && /resumed by itself/.test(event.detail.Message ?? ""),
        ),
      10_000,
      "the event saying sync resumed by itself",
    );
    expect((await status()).sync.state).toBe("active");
    await waitFor(
      async () =>
        (await standby.request<{ description: string }>("GET", `/api/domains/${domain}`))
          .description === "held",
      20_000,
    );
    await drained();
  });

  it("with autoResume off, stays suspended until a person resumes", async () => {
    await pointAt(failoverPort(), { autoResume: false });
    await runtime.failover.setOnline(false);
    try {
      await production.request("PUT", `/api/domains/${unique("manual")}`, {});
      await outlastWindow();
    } finally {
      await runtime.failover.setOnline(true);
    }
    // Several heartbeats later, still suspended: the probe does not resume it.
    await heartbeats(3);
    expect((await status()).sync.state).toBe("suspended");
    await production.request("POST", "/api/failover/resume");
    await drained();
    await pointAt(failoverPort());
  });
});

describe("suspension while the event source is still disabling (R9)", () => {
  it("puts the held changes aside instead of churning them, and resume hands them out at once", async () => {
    await pointAt(failoverPort(), { autoResume: false });
    const domains = [unique("held"), unique("held"), unique("held")];
    await runtime.failover.setOnline(false);
    try {
      for (const domain of domains) await production.request("PUT", `/api/domains/${domain}`, {});
      await outlastWindow();
      // AWS's pollers go on for a while after the mapping is disabled; so do local mode's.
      const invocations = runtime.production.pipelineStats().forwardInvocations;
      await runtime.production.forwardPaused();
      // Heartbeats arrive and are put aside too; a released batch would come back at once.
      expect(runtime.production.pipelineStats().forwardInvocations - invocations).toBeLessThan(10);
      const held = await status();
      expect(held.queue.deadLettered).toBe(0);
      expect(held.queue.inFlight).toBeGreaterThanOrEqual(domains.length);
    } finally {
      await runtime.failover.setOnline(true);
    }
    await production.request("POST", "/api/failover/resume");
    for (const domain of domains)
      await waitFor(() => standby.request("GET", `/api/domains/${domain}`), 20_000);
    await drained();
    await pointAt(failoverPort());
  });
});

describe("verify and repair (R21)", () => {
  it("finds an item changed, one deleted and one added on the failover; repair makes it 0", async () => {
    const domain = unique("drift");
    const base = `/api/domains/${domain}`;
    await production.request("PUT", base, { description: "drift" });
    for (const name of ["ann", "bob"]) {
      await production.request("PUT", `${base}/users/${name}`, {
        password: `${name}-password-1`,
        email: `${name}@example.com`,
        homeDirectory: `/home/${name}`,
      });
    }
    await production.request("PUT", `${base}/groups/ops`, {});
    await waitFor(() => standby.request("GET", `${base}/groups/ops`), 10_000);
    await drained();
    const clean = await production.request<DriftReport>("GET", "/api/failover/drift");
    expect(clean.differences).toBe(0);

    // By hand on the failover: a changed email and password, a deleted group, an added user.
    await standby.request("PUT", `${base}/users/ann`, {
      password: "changed-on-the-failover",
      email: "ann@elsewhere.example",
      homeDirectory: "/home/ann",
    });
    await standby.request("DELETE", `${base}/groups/ops`);
    await standby.request("PUT", `${base}/users/eve`, {
      password: "eve-password-1",
      homeDirectory: "/home/eve",
    });

    const report = await production.request<DriftReport>("GET", "/api/failover/drift");
    // Changed on the failover, newer than production's: drift, however young, never pending.
    expect(report).toMatchObject({ differences: 3, pending: 0 });
    expect(report.domains).toEqual([
      {
        domain,
        missing: ["group:ops"],
        extra: ["user:eve"],
        different: [{ id: "user:ann", fields: ["email", "password"] }],
        pending: [],
      },
    ]);
    // Never a password hash, not even the failover's digest of one.
    expect(JSON.stringify(report)).not.toMatch(/scrypt|sha256/);
    expect(runtime.production.metrics.values("Drift").at(-1)).toBe(3);

    const repaired = await production.request<{ repairId: string; items: number }>(
      "POST",
      "/api/failover/repair",
    );
    expect(repaired.items).toBe(3);
    // The repaired items are pending while automatic sync carries them, then in step.
    await verifiesInStep(20_000, "verify to report nothing after repair");
    expect(await standby.request<{ email: string }>("GET", `${base}/users/ann`)).toMatchObject({
      email: "ann@example.com",
    });
    expect(runtime.production.metrics.values("Drift").at(-1)).toBe(0);
  });

  it("runs on the schedule's event on the sending side only, publishing Drift", async () => {
    const scheduled = (region: LocalRegion) => monitorOf(region)({ task: "verify" }, context());
    const before = runtime.production.metrics.values("Drift").length;

    expect(await scheduled(runtime.production)).toMatchObject({ differences: 0 });
    expect(runtime.production.metrics.values("Drift").slice(before)).toEqual([0]);
    expect((await status()).lastVerify).toMatchObject({ differences: 0 });
    // The failover (automatic sync off there) does not compare itself with production.
    expect(await scheduled(runtime.failover)).toEqual({ skipped: true });
  });

  it("counts changes in flight under a steady load of 50 changes/s as pending, not drift", async () => {
    const domain = unique("load");
    await production.request("PUT", `/api/domains/${domain}`, {});
    await waitFor(() => standby.request("GET", `/api/domains/${domain}`), 20_000);
    const load = steadyLoad(domain, 50);
    const reports: DriftReport[] = [];
    try {
      await waitFor(
        async () => {
          const report = await production.request<DriftReport>("GET", "/api/failover/drift");
          reports.push(report);
          return report.pending > 0;
        },
        30_000,
        "a verify that finds changes in flight",
      );
    } finally {
      await load.stop();
    }
    expect(load.written()).toBeGreaterThan(0);
    // Every verify under load: no drift (nor a Drift metric above 0), what is in flight pending.
    expect(reports.map((report) => report.differences)).toEqual(reports.map(() => 0));
    const last = reports.at(-1);
    expect(last?.domains).toContainEqual(
      expect.objectContaining({ domain, pending: expect.arrayContaining([expect.any(String)]) }),
    );
    expect(runtime.production.metrics.values("Drift").slice(-reports.length)).toEqual(
      reports.map(() => 0),
    );
    // Once the load has been delivered, nothing is pending either.
    await verifiesInStep(60_000, "verify to report nothing once the load is delivered");
  }, 120_000);

  it("counts what a suspension holds back as pending, however old; a change on the failover is drift", async () => {
    await pointAt(failoverPort(), { autoResume: false });
    const domain = unique("held");
    const base = `/api/domains/${domain}`;
    await production.request("PUT", base, { description: "in step" });
    await production.request("PUT", `${base}/groups/a`, {});
    await waitFor(() => standby.request("GET", `${base}/groups/a`), 20_000);
    await drained();
    await runtime.failover.setOnline(false);
    try {
      // Held back: a deletion (extra on the failover) and two new groups (missing there).
      await production.request("DELETE", `${base}/groups/a`);
      for (const group of ["b", "c"])
        await production.request("PUT", `${base}/groups/${group}`, {});
      await outlastWindow();
      // A forward still retrying when sync was suspended would deliver once the failover is back.
      await runtime.production.forwardPaused();
    } finally {
      await runtime.failover.setOnline(true);
    }
    // Past the settle window: only the held backlog (sync suspended) makes these pending.
    const later = { ...runtime.production.services, now: () => clock.now() + VERIFY_SETTLE_MS };
    const held = await verify(later);
    expect(held).toMatchObject({ differences: 0, pending: 3 });
    expect(held.domains).toEqual([
      { domain, missing: [], extra: [], different: [], pending: ["group:a", "group:b", "group:c"] },
    ]);

    await standby.request("PUT", base, { description: "changed on the failover" });
    const drifted = await verify(later);
    expect(drifted).toMatchObject({ differences: 1, pending: 3 });
    expect(drifted.domains).toEqual([
      {
        domain,
        missing: [],
        extra: [],
        different: [{ id: "domain", fields: ["description"] }],
        pending: ["group:a", "group:b", "group:c"],
      },
    ]);

    await production.request("POST", "/api/failover/resume");
    await drained();
    await pointAt(failoverPort());
    await production.request("POST", "/api/failover/repair");
    await verifiesInStep(20_000, "verify to report nothing after resume and repair");
  }, 90_000);

  it("serves the failover's pages of replicated configuration only, never its local state (R3)", async () => {
    const error = await apiError(standby.request("POST", "/api/sync/records", { pk: "LOCAL" }));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^pk: /);
    const segment = await apiError(
      standby.request("POST", "/api/sync/digests", { segment: 4, totalSegments: 4 }),
    );
    expect(segment.status).toBe(400);
    expect(segment.message).toMatch(/^segment: /);
  });
});
