import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient, ApiError } from "../../bin/api-client.ts";
import type { LocalRegion, LocalRuntime } from "../../infra/local/runtime.ts";
import { domainPk, triggerKey } from "../../shared/model/items.ts";
import { unique } from "../support/api.ts";
import { movableClock } from "../support/clock.ts";
import {
  configOf,
  type DomainConfig,
  type HistoryPage,
  type Rewind,
  rewind,
  snapshotOf,
} from "../support/history.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";

/**
 * Rewind (R26) over random histories, on the server scope and after a takeover: this file runs
 * its own two regions, because it rewinds the server scope and takes over. Both run on `clock`:
 * each change gets a second of its own by moving it, not by sleeping.
 */
const clock = movableClock();
let runtime: LocalRuntime;
let production: AdminClient;
let standby: AdminClient;

beforeAll(async () => {
  runtime = await startOwnRuntime({ now: clock.now });
  production = new AdminClient(runtime.production.url, runtime.admin);
  standby = new AdminClient(runtime.failover.url, runtime.admin);
});
afterAll(async () => {
  await runtime?.stop();
});

/** A moment after everything so far, before everything after. */
function aMoment() {
  const at = new Date(clock.now()).toISOString();
  clock.move(1_000);
  return at;
}

/** A domain's live items as stored (password hashes included), by key. */
async function storedOf(region: LocalRegion, domain: string) {
  const { items } = await region.services.store.list(domainPk(domain), "", { limit: 1000 });
  return items.map(({ sk, data }) => ({ sk, data }));
}

const child = fc.constantFrom("a", "b");
const operation = fc.oneof(
  fc.record({ op: fc.constant("putDomain" as const), description: fc.constantFrom("x", "y") }),
  fc.record({ op: fc.constant("deleteDomain" as const) }),
  fc.record({
    op: fc.constant("putUser" as const),
    id: child,
    home: fc.constantFrom("/h1", "/h2"),
    password: fc.constantFrom("Passw0rd-1", "Passw0rd-2"),
  }),
  fc.record({ op: fc.constant("deleteUser" as const), id: child }),
  fc.record({
    op: fc.constant("putGroup" as const),
    id: child,
    description: fc.constantFrom("x", "y"),
  }),
  fc.record({ op: fc.constant("deleteGroup" as const), id: child }),
  fc.record({ op: fc.constant("putService" as const), id: child, port: fc.constantFrom(22, 23) }),
  fc.record({ op: fc.constant("deleteService" as const), id: child }),
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

/** One operation through the admin API; refused ones (a child of a missing domain) change nothing. */
async function run(domain: string, step: Operation) {
  const at = `/api/domains/${domain}`;
  const [method, path, body]: [string, string, unknown?] = (() => {
    switch (step.op) {
      case "putDomain":
        return ["PUT", at, { description: step.description }];
      case "deleteDomain":
        return ["DELETE", at];
      case "putUser":
        return [
          "PUT",
          `${at}/users/${step.id}`,
          { homeDirectory: step.home, password: step.password },
        ];
      case "deleteUser":
        return ["DELETE", `${at}/users/${step.id}`];
      case "putGroup":
        return ["PUT", `${at}/groups/${step.id}`, { description: step.description }];
      case "deleteGroup":
        return ["DELETE", `${at}/groups/${step.id}`];
      case "putService":
        return [
          "PUT",
          `${at}/services/${step.id}`,
          { protocol: "SFTP", ip: "10.0.0.1", port: step.port },
        ];
      case "deleteService":
        return ["DELETE", `${at}/services/${step.id}`];
    }
  })();
  await production.request(method, path, body).catch((error: unknown) => {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  });
}

interface Seen {
  at: string;
  config: DomainConfig;
  stored: Awaited<ReturnType<typeof storedOf>>;
}
const domainsSeen: string[] = [];

describe("rewind over random histories (R26)", { timeout: 120_000 }, () => {
  it("gives for T what a snapshot taken at T held, and rewind(T) makes the live state equal it", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(operation, { minLength: 2, maxLength: 7 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 2 }),
        async (operations, picks) => {
          const domain = unique("random");
          domainsSeen.push(domain);
          const seen: Seen[] = [];
          const look = async () => {
            seen.push({
              at: aMoment(),
              config: await configOf(production, domain),
              stored: await storedOf(runtime.production, domain),
            });
          };
          // Before the domain exists, then after each change.
          await look();
          for (const step of [{ op: "putDomain", description: "x" } as const, ...operations]) {
            await run(domain, step);
            await look();
          }
          for (const pick of picks) {
            const moment = seen[pick % seen.length] as Seen;
            expect(await snapshotOf(production, domain, moment.at)).toEqual(moment.config);
            const done = await rewind(production, domain, moment.at, false);
            expect(await configOf(production, domain)).toEqual(moment.config);
            expect(await storedOf(runtime.production, domain)).toEqual(moment.stored);
            expect(done.applied).toBe(
              done.added.length + done.removed.length + done.changed.length,
            );
            // A later pick may go back to before this rewind, or to right after it.
            await look();
          }
        },
      ),
      { numRuns: 5 },
    );
  });

  it("ends with the failover equal to production: no drift", async () => {
    for (const domain of domainsSeen) {
      const expected = JSON.stringify(await configOf(production, domain));
      await waitFor(
        async () => JSON.stringify(await configOf(standby, domain)) === expected,
        20_000,
        `${domain} on the failover`,
      );
    }
    const drift = await production.request<{ differences: number }>("GET", "/api/failover/drift");
    expect(drift.differences).toBe(0);
  });
});

describe("rewind of the server scope: web settings and triggers (R26)", { timeout: 60_000 }, () => {
  const [kept, removed] = [unique("hook"), unique("hook")];
  const trigger = (secret: string) => ({
    event: "Failover Synchronization",
    actions: [
      {
        type: "http",
        url: "http://127.0.0.1:9/hook",
        headers: { Authorization: { secret } },
        retries: 0,
      },
    ],
  });
  const storedSecret = async (id: string) => {
    const item = await runtime.production.services.store.get(triggerKey(id));
    const actions = item?.deleted
      ? undefined
      : (item?.data?.actions as { headers: Record<string, unknown> }[]);
    return actions?.[0]?.headers.Authorization;
  };

  it("shows no secret in its snapshot, history or answers, and puts the secret back", async () => {
    await production.request("PUT", "/api/settings/web", { enabled: false, port: 8443 });
    await production.request("PUT", `/api/triggers/${kept}`, trigger("Bearer old-s3cret"));
    await production.request("PUT", `/api/triggers/${removed}`, trigger("Bearer gone-s3cret"));
    const moment = aMoment();
    await production.request("PUT", "/api/settings/web", { enabled: false, port: 9443 });
    await production.request("PUT", `/api/triggers/${kept}`, trigger("Bearer new-s3cret"));
    await production.request("DELETE", `/api/triggers/${removed}`);

    const snapshot = await production.request<{
      web: { port: number };
      triggers: { id: string; actions: { headers: Record<string, unknown> }[] }[];
    }>("GET", `/api/settings/snapshot?at=${moment}`);
    const history = await production.request<HistoryPage>("GET", "/api/history?limit=1000");
    const dryRun = await production.request<Rewind>("POST", "/api/settings/rewind", {
      at: moment,
      dryRun: true,
    });
    const done = await production.request<Rewind>("POST", "/api/settings/rewind", {
      at: moment,
      dryRun: false,
    });

    expect(snapshot.web.port).toBe(8443);
    expect(snapshot.triggers.map((item) => item.actions[0]?.headers)).toEqual([
      { Authorization: { secret: true } },
      { Authorization: { secret: true } },
    ]);
    expect(history.items.filter((change) => change.id === `trigger:${kept}`)).toHaveLength(2);
    for (const answer of [snapshot, history, dryRun, done])
      expect(JSON.stringify(answer)).not.toMatch(/s3cret/);
    expect(dryRun).toMatchObject({
      added: [`trigger:${removed}`],
      removed: [],
      changed: expect.arrayContaining([
        { id: "web", fields: ["port"] },
        { id: `trigger:${kept}`, fields: ["actions"] },
      ]),
    });
    expect(done.applied).toBe(3);
    expect(await storedSecret(kept)).toEqual({ secret: "Bearer old-s3cret" });
    expect(await storedSecret(removed)).toEqual({ secret: "Bearer gone-s3cret" });
    expect((await production.request<{ port: number }>("GET", "/api/settings/web")).port).toBe(
      8443,
    );
  });
});

describe("rewind on the failover after a takeover (R19a, R26)", { timeout: 60_000 }, () => {
  it("works the same: a domain deleted there is put back there", async () => {
    const domain = unique("taken");
    await production.request("PUT", `/api/domains/${domain}`, { description: "kept" });
    await production.request("PUT", `/api/domains/${domain}/users/erin`, {
      password: "erin-Passw0rd!",
      homeDirectory: "/data/erin",
    });
    const before = await configOf(production, domain);
    await waitFor(
      async () => JSON.stringify(await configOf(standby, domain)) === JSON.stringify(before),
      15_000,
      "the domain on the failover",
    );
    await standby.request("POST", "/api/failover/takeover");
    const moment = aMoment();
    await standby.request("DELETE", `/api/domains/${domain}`);

    const dryRun = await rewind(standby, domain, moment, true);
    const done = await rewind(standby, domain, moment, false);

    expect(dryRun.added).toEqual(["domain", "user:erin"]);
    expect(done.applied).toBe(2);
    expect(await configOf(standby, domain)).toEqual(before);
    // History follows the stream: the rewind's own changes arrive a moment later.
    const domainChanges = await waitFor(async () => {
      const page = await standby.request<HistoryPage>("GET", `/api/history?domain=${domain}`);
      const changes = page.items.filter((change) => change.id === "domain");
      return changes.length === 3 ? changes : undefined;
    });
    expect(domainChanges.map((change) => change.op)).toEqual(["put", "delete", "put"]);
    // The rewind and the delete were made on the failover; the creation came from production.
    const [rewound, deleted, created] = domainChanges.map((change) => change.origin);
    expect(rewound).toBe(deleted);
    expect(created).not.toBe(deleted);
  });
});
