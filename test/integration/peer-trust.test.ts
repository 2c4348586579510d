import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import type { ConfigItem } from "../../shared/model/items.ts";
import type { FullSyncPeer } from "../../shared/ports.ts";
import { MAX_CLOCK_SKEW_MS } from "../../shared/sync/apply.ts";
import type { FailbackRun } from "../../shared/sync/failback.ts";
import { type DriftReport, repair, verify } from "../../shared/sync/verify.ts";
import { apiError, unique } from "../support/api.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";

const run = promisify(execFile);

/**
 * R25, at the edges: what a peer can read (secrets), and what numbers it sends (fences, versions,
 * digests) may do to this server. Own runtime: the last test fails back, which changes both
 * regions' failover settings.
 */
let runtime: LocalRuntime;
let production: AdminClient;
let standby: AdminClient;

const SECRET = "Bearer peer-trust-S3cret";
/** The newest version a peer may send now (R8): a version is wall-clock µs. */
const versionBound = () => (Date.now() + MAX_CLOCK_SKEW_MS) * 1000;

beforeAll(async () => {
  runtime = await startOwnRuntime();
  production = new AdminClient(runtime.production.url, runtime.admin);
  standby = new AdminClient(runtime.failover.url, runtime.admin);
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
});

async function onFailover(path: string) {
  return waitFor(
    () => standby.request<Record<string, unknown>>("GET", path).catch(() => undefined),
    15_000,
    `${path} on the failover`,
  );
}

/** Production's services with a failover whose answers to `/api/sync/...` pass through `tamper`. */
function lyingFailover(tamper: (path: string, answer: unknown) => unknown) {
  const services = runtime.production.services;
  return {
    ...services,
    peerFor: (...args: Parameters<typeof services.peerFor>): FullSyncPeer => {
      const real = services.peerFor(...args);
      return {
        hello: () => real.hello(),
        sendChanges: (origin, changes) => real.sendChanges(origin, changes),
        call: async (method, path, body) => tamper(path, await real.call(method, path, body)),
      };
    },
  };
}

/** A user as production sends it, but without `domain`. */
const domainlessUser = (version: number): ConfigItem => ({
  pk: "DOMAIN#nodomain",
  sk: "USER#bob",
  kind: "user",
  id: "bob",
  version,
  origin: "elsewhere",
  updatedAt: Date.now(),
  data: {
    passwordHash: "scrypt$x",
    homeDirectory: "/data/bob",
    enabled: true,
    groups: [],
  },
});

describe("what a peer is trusted with (R25)", { timeout: 180_000 }, () => {
  it("never shows a secret header: verify's records route digests it, and verify compares the digests", async () => {
    const id = unique("hook");
    const trigger = (secret: string) => ({
      event: "Failover Synchronization",
      enabled: false,
      actions: [
        {
          type: "http",
          url: "https://hooks.example.com/mft",
          headers: { Authorization: { secret }, "X-Source": "mft" },
        },
      ],
    });
    await production.request("PUT", `/api/triggers/${id}`, trigger(SECRET));
    await onFailover(`/api/triggers/${id}`);

    for (const side of [production, standby]) {
      const answer = await side.request<{ items: ConfigItem[] }>("POST", "/api/sync/records", {
        pk: "SERVER",
      });
      expect(JSON.stringify(answer)).not.toContain("peer-trust-S3cret");
      const held = answer.items.find((item) => item.id === id);
      expect(held?.data?.actions).toEqual([
        expect.objectContaining({
          headers: {
            Authorization: { secret: expect.stringMatching(/^sha256:/) },
            "X-Source": "mft",
          },
        }),
      ]);
    }
    const driftOf = async () =>
      (await production.request<DriftReport>("GET", "/api/failover/drift")).domains.flatMap(
        (domain) => domain.different,
      );
    expect(await driftOf()).toEqual([]);

    // Another secret on the failover alone: verify sees the difference through the digests.
    await standby.request("PUT", `/api/triggers/${id}`, trigger("Bearer another-S3cret"));
    expect(await driftOf()).toEqual([{ id: `trigger:${id}`, fields: ["actions"] }]);
  });

  it("repair holds the failover's versions to the skew bound: a version from the future lifts nothing (R8)", async () => {
    const domain = unique("skew");
    await production.request("PUT", `/api/domains/${domain}`, {});
    await production.request("PUT", `/api/domains/${domain}/groups/g`, { description: "ours" });
    await onFailover(`/api/domains/${domain}/groups/g`);
    await standby.request("PUT", `/api/domains/${domain}/groups/g`, { description: "theirs" });
    const before = await production.request<{ version: number }>(
      "GET",
      `/api/domains/${domain}/groups/g`,
    );

    const lying = lyingFailover((path, answer) => {
      if (path !== "/api/sync/records") return answer;
      const page = answer as { items: ConfigItem[] };
      return {
        ...page,
        items: page.items.map((item) =>
          item.sk === "GROUP#g" ? { ...item, version: Number.MAX_SAFE_INTEGER } : item,
        ),
      };
    });
    const answer = await repair(lying);

    expect(answer.refused).toEqual([
      {
        id: "group:g",
        domain,
        reason: expect.stringMatching(/^version \d+ is more than 5 minutes ahead/),
      },
    ]);
    const after = await production.request<{ version: number }>(
      "GET",
      `/api/domains/${domain}/groups/g`,
    );
    expect(after.version).toBe(before.version);
    expect(runtime.production.services.clock.next()).toBeLessThan(versionBound());

    // The failover's true version is within the bound: repair goes through.
    expect((await repair(runtime.production.services)).items).toBeGreaterThanOrEqual(1);
    await waitFor(
      async () =>
        (await standby.request<{ description: string }>("GET", `/api/domains/${domain}/groups/g`))
          .description === "ours",
      15_000,
      "the repaired group on the failover",
    );
  });

  it("refuses a received user whose password hash is not one without naming any part of a hash (R25)", async () => {
    const user = { ...domainlessUser(Date.now() * 1000), domain: "nodomain" };
    const events = await standby.request<{ results: { status: string; reason?: string }[] }>(
      "POST",
      "/api/sync/events",
      {
        origin: "elsewhere",
        changes: [{ item: { ...user, data: { ...user.data, passwordHash: "" } } }],
      },
    );
    expect(events.results).toEqual([
      {
        status: "rejected",
        reason: expect.stringMatching(/passwordHash/),
        appliedAt: expect.any(Number),
      },
    ]);
    expect(JSON.stringify(events)).not.toContain("scrypt$");
  });

  it("refuses a received user without a domain as the item's problem, and a full sync's item sent twice, not a 500 (R10)", async () => {
    const events = await standby.request<{ results: { status: string; reason?: string }[] }>(
      "POST",
      "/api/sync/events",
      { origin: "elsewhere", changes: [{ item: domainlessUser(Date.now() * 1000) }] },
    );
    expect(events.results).toEqual([
      {
        status: "rejected",
        reason: expect.stringMatching(/^domain: /),
        appliedAt: expect.any(Number),
      },
    ]);

    const full = await apiError(
      standby.request("POST", "/api/sync/full/items", {
        origin: "elsewhere",
        syncId: "domainless",
        fence: Date.now(),
        items: [domainlessUser(Date.now() * 1000)],
      }),
    );
    expect(full).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^items\[0\]: .*domain/),
    });
    const group: ConfigItem = {
      pk: "DOMAIN#twice",
      sk: "GROUP#g",
      kind: "group",
      id: "g",
      domain: "twice",
      version: Date.now() * 1000,
      origin: "elsewhere",
      updatedAt: Date.now(),
      data: { description: "" },
    };
    const twice = await apiError(
      standby.request("POST", "/api/sync/full/items", {
        origin: "elsewhere",
        syncId: "twice",
        fence: Date.now(),
        items: [group, group],
      }),
    );
    expect(twice).toMatchObject({
      status: 400,
      message: "items[1]: DOMAIN#twice GROUP#g: sent twice",
    });
    // Refused before its fence was taken: an older run still writes.
    const older = await standby.request<{ written: number }>("POST", "/api/sync/full/items", {
      origin: "elsewhere",
      syncId: "older",
      fence: Date.now() - 60_000,
      items: [],
    });
    expect(older.written).toBe(0);
  });

  it.each([
    [
      "a digest that is not hex",
      "/api/sync/digests",
      { partitions: { SERVER: "not-hex!" } },
      /partitions/,
    ],
    [
      "a digest too long",
      "/api/sync/digests",
      { partitions: { SERVER: "f".repeat(400) } },
      /partitions/,
    ],
    ["records that are not items", "/api/sync/records", { items: [{ pk: 1 }] }, /items/],
  ])(
    "verify answers 502 naming the field for %s from the failover, not a crash",
    async (_, route, bad, field) => {
      // Something to compare in the second pass.
      const domain = unique("digest");
      await production.request("PUT", `/api/domains/${domain}`, {});
      await onFailover(`/api/domains/${domain}`);
      await standby.request("PUT", `/api/domains/${domain}`, { description: "changed there" });
      const lying = lyingFailover((path, answer) => (path === route ? bad : answer));

      const error = await verify(lying).catch((error: unknown) => error);

      expect(error).toMatchObject({
        status: 502,
        code: "bad_gateway",
        message: expect.stringMatching(field),
      });
    },
  );

  it("bounds the full-sync fence; a failback completes after a bad fence, and an admin clears a stuck one", async () => {
    const failbackEnd = (failbackId: string) =>
      waitFor(
        async () => {
          const view = await production.request<Omit<FailbackRun, "saved">>(
            "GET",
            `/api/failover/failbacks/${failbackId}`,
          );
          return view.state === "running" ? undefined : view;
        },
        60_000,
        `failback ${failbackId} to end`,
      );
    const fullSyncBody = (syncId: string, fence: number) => ({
      origin: "elsewhere",
      syncId,
      fence,
      segment: 0,
      totalSegments: 1,
    });

    // Production takes a full sync only while it does not sync out itself (R18): as in a failback.
    const { passwordSet: _, ...settings } = await production.request<Record<string, unknown>>(
      "GET",
      "/api/failover",
    );
    const takingSync = async (send: () => Promise<void>) => {
      await production.request("PUT", "/api/failover", { ...settings, autoSync: false });
      try {
        await send();
      } finally {
        await production.request("PUT", "/api/failover", settings);
      }
    };
    const soon = () => Date.now() + MAX_CLOCK_SKEW_MS - 60_000;

    // A fence past the bound is refused, even by the read-only digest route, which keeps none.
    await takingSync(async () => {
      const ahead = await apiError(
        production.request(
          "POST",
          "/api/sync/full/digest",
          fullSyncBody("far-ahead", Number.MAX_SAFE_INTEGER),
        ),
      );
      expect(ahead).toMatchObject({ status: 400, message: expect.stringMatching(/^fence: /) });
      await production.request("POST", "/api/sync/full/digest", fullSyncBody("read", soon()));
    });
    const first = await production.request<{ failbackId: string }>(
      "POST",
      "/api/failover/failback",
      {},
    );
    expect((await failbackEnd(first.failbackId)).state).toBe("succeeded");

    // A fence within the bound, from a clock a few minutes ahead, blocks later runs until then…
    await takingSync(async () => {
      await production.request("POST", "/api/sync/full/items", {
        origin: "elsewhere",
        syncId: "clock-ahead",
        fence: soon(),
        items: [],
      });
    });
    const second = await production.request<{ failbackId: string }>(
      "POST",
      "/api/failover/failback",
      {},
    );
    const stuck = await failbackEnd(second.failbackId);
    expect(stuck).toMatchObject({ state: "failed", step: "fullSyncToProduction" });
    expect(stuck.steps[2]?.reason).toMatch(/clock-ahead.*failover clear-fence/);

    // …until an admin clears it (the CLI, on production), and the failback resumes to its end.
    const cli = await run("node", ["bin/mft-failover.js", "--json", "failover", "clear-fence"], {
      env: {
        ...process.env,
        MFT_URL: runtime.production.url,
        MFT_ADMIN_PASSWORD: runtime.admin.password,
      },
    });
    expect(JSON.parse(cli.stdout)).toMatchObject({ cleared: { syncId: "clock-ahead" } });
    expect(await production.request("DELETE", "/api/failover/fence")).toEqual({ cleared: null });
    await production.request("POST", "/api/failover/failback", { resume: second.failbackId });
    expect((await failbackEnd(second.failbackId)).state).toBe("succeeded");
  });
});
