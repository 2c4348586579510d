import { beforeAll, describe, expect, it } from "vitest";
import { apiError, failoverClient, productionClient, unique } from "../support/api.ts";
import {
  configOf,
  configOfSnapshot,
  type DomainConfig,
  type HistoryPage,
  type Rewind,
  rewind,
  type Snapshot,
} from "../support/history.ts";
import { waitFor } from "../support/wait.ts";

const production = productionClient();
const failover = failoverClient();

/** Now, as a moment: once it returns, every later change is after it. */
async function aMoment() {
  const at = new Date().toISOString();
  await waitFor(() => Date.now() > Date.parse(at), 1_000, "the next millisecond");
  return at;
}

const domain = unique("oops");
let before: DomainConfig;
let moment: string;

beforeAll(async () => {
  await production.request("PUT", `/api/domains/${domain}`, { description: "payroll" });
  await production.request("PUT", `/api/domains/${domain}/groups/staff`, { description: "all" });
  for (const name of ["alice", "bob"])
    await production.request("PUT", `/api/domains/${domain}/users/${name}`, {
      password: `${name}-Passw0rd!`,
      homeDirectory: `/data/${name}`,
      groups: ["staff"],
    });
  await production.request("PUT", `/api/domains/${domain}/services/sftp`, {
    protocol: "SFTP",
    ip: "0.0.0.0",
    port: 2222,
  });
  before = await configOf(production, domain);
  await waitFor(
    async () => JSON.stringify(await configOf(failover, domain)) === JSON.stringify(before),
    15_000,
    "the domain on the failover",
  );
  moment = new Date().toISOString();
}, 60_000);

describe("rewind (R26)", { timeout: 60_000 }, () => {
  it("brings back a domain deleted by mistake, on production and, by sync, on the failover", async () => {
    await production.request("DELETE", `/api/domains/${domain}`);
    await waitFor(
      async () => (await configOf(failover, domain)).domain === null,
      15_000,
      "the deletion to reach the failover",
    );

    const snapshot = await production.request<Snapshot>(
      "GET",
      `/api/domains/${domain}/snapshot?at=${encodeURIComponent(moment)}`,
    );
    expect(configOfSnapshot(snapshot)).toEqual(before);
    expect(JSON.stringify(snapshot)).not.toContain("passwordHash");

    const dryRun = await production.request<Rewind>("POST", `/api/domains/${domain}/rewind`, {
      at: moment,
      dryRun: true,
    });
    expect(dryRun.added).toEqual([
      "domain",
      "group:staff",
      "service:sftp",
      "user:alice",
      "user:bob",
    ]);
    expect(dryRun.removed).toEqual([]);
    expect(await configOf(production, domain)).toEqual({ domain: null });

    const done = await production.request<Rewind>("POST", `/api/domains/${domain}/rewind`, {
      at: moment,
      dryRun: false,
    });
    expect(done.applied).toBe(5);
    expect(await configOf(production, domain)).toEqual(before);
    await waitFor(
      async () => JSON.stringify(await configOf(failover, domain)) === JSON.stringify(before),
      15_000,
      "the rewound domain on the failover",
    );
  });

  it("lists the changes newest first: the rewind, the delete, the creation", async () => {
    const page = await waitFor(async () => {
      const answer = await production.request<HistoryPage>(
        "GET",
        `/api/history?domain=${domain}&limit=1000`,
      );
      return answer.items.length >= 15 ? answer : undefined;
    });
    const domainChanges = page.items.filter((change) => change.id === "domain");
    expect(domainChanges.map((change) => change.op)).toEqual(["put", "delete", "put"]);
    expect(page.items.find((change) => change.id === "user:alice")?.fields).toEqual(
      expect.arrayContaining(["homeDirectory", "password"]),
    );
  });

  it("answers 400 naming `at` for a moment in the future or before the retention period, 404 for an unknown domain", async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const tooOld = new Date(Date.now() - 8 * 86_400_000).toISOString();
    for (const at of [future, tooOld, "yesterday"]) {
      const error = await apiError(
        production.request("POST", `/api/domains/${domain}/rewind`, { at, dryRun: true }),
      );
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/^at: /);
    }
    const unknown = await apiError(
      production.request("GET", `/api/domains/${unique("never")}/snapshot?at=${moment}`),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.message).toMatch(/domain never-.* not found/);
  });

  it("keeps on the failover the changes sync applied there, as production made them", async () => {
    const changesOn = async (client: typeof production) =>
      (
        await client.request<HistoryPage>("GET", `/api/history?domain=${domain}&limit=1000`)
      ).items.map(({ id, op, at, origin }) => ({ id, op, at, origin }));
    const onProduction = await changesOn(production);

    const onFailover = await waitFor(
      async () => {
        const changes = await changesOn(failover);
        return changes.length === onProduction.length ? changes : undefined;
      },
      15_000,
      "the failover's history of the domain",
    );

    expect(onFailover).toEqual(onProduction);
    expect(new Set(onFailover.map((change) => change.origin)).size).toBe(1);
  });

  it("rewinds a rewind: the moment just before it gives back what it undid", async () => {
    const name = unique("undo");
    await production.request("PUT", `/api/domains/${name}`, { description: "v1" });
    await production.request("PUT", `/api/domains/${name}/users/carol`, {
      password: "carol-Passw0rd!",
      homeDirectory: "/data/v1",
    });
    const first = await aMoment();
    const atFirst = await configOf(production, name);
    await production.request("PUT", `/api/domains/${name}/users/carol`, {
      homeDirectory: "/data/v2",
    });
    await production.request("PUT", `/api/domains/${name}/users/dave`, {
      password: "dave-Passw0rd!",
      homeDirectory: "/data/dave",
    });
    const beforeRewind = await aMoment();
    const atSecond = await configOf(production, name);

    const back = await rewind(production, name, first, false);
    expect(back).toMatchObject({
      added: [],
      removed: ["user:dave"],
      changed: [{ id: "user:carol", fields: ["homeDirectory"] }],
      applied: 2,
    });
    expect(await configOf(production, name)).toEqual(atFirst);

    const undone = await rewind(production, name, beforeRewind, false);
    expect(undone).toMatchObject({
      added: ["user:dave"],
      removed: [],
      changed: [{ id: "user:carol", fields: ["homeDirectory"] }],
    });
    expect(await configOf(production, name)).toEqual(atSecond);
    await waitFor(
      async () => JSON.stringify(await configOf(failover, name)) === JSON.stringify(atSecond),
      15_000,
      "the failover to follow both rewinds",
    );
    // Nothing left to do: a rewind to where the scope is writes nothing.
    expect(await rewind(production, name, await aMoment(), false)).toMatchObject({
      added: [],
      removed: [],
      changed: [],
      applied: 0,
    });
  });

  it("leaves a live domain its run state and gives one put back the run state it had when its first change since the moment was made (R2)", async () => {
    const [live, gone] = [unique("live"), unique("gone")];
    for (const name of [live, gone])
      await production.request("PUT", `/api/domains/${name}`, { description: "v1" });
    for (const name of [live, gone]) await production.request("POST", `/api/domains/${name}/start`);
    const moment = await aMoment();
    // The change after the moment finds the domain running: a rewind writes it as running.
    await production.request("PUT", `/api/domains/${live}`, { description: "v2" });
    await production.request("POST", `/api/domains/${live}/stop`);
    await production.request("DELETE", `/api/domains/${gone}`);

    for (const name of [live, gone]) await rewind(production, name, moment, false);

    const runState = async (name: string) =>
      (
        await production.request<{ description: string; running: boolean }>(
          "GET",
          `/api/domains/${name}`,
        )
      ).running;
    expect(await configOf(production, live)).toMatchObject({ domain: { description: "v1" } });
    expect(await runState(live)).toBe(false);
    expect(await runState(gone)).toBe(true);
  });

  it("answers 400 naming the field for a rewind without dryRun or at, a moment not ISO, and 404 for a rewind of an unknown domain", async () => {
    const at = await aMoment();
    const cases: [string, string, unknown, RegExp][] = [
      ["POST", `/api/domains/${domain}/rewind`, { at }, /^dryRun: /],
      ["POST", `/api/domains/${domain}/rewind`, { dryRun: true }, /^at: /],
      ["POST", "/api/settings/rewind", { at: "12/07/2026", dryRun: true }, /^at: /],
      ["GET", `/api/domains/${domain}/snapshot?at=now`, undefined, /^at: /],
      ["GET", `/api/domains/${domain}/snapshot`, undefined, /^at: /],
      ["GET", `/api/history?domain=${domain}&since=yesterday`, undefined, /^since: /],
    ];
    for (const [method, path, body, field] of cases) {
      const error = await apiError(production.request(method, path, body));
      expect([path, error.status]).toEqual([path, 400]);
      expect(error.message).toMatch(field);
    }
    const unknown = await apiError(rewind(production, unique("never"), at, true));
    expect(unknown.status).toBe(404);
  });
});
