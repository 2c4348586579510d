import { beforeAll, describe, expect, it } from "vitest";
import type { AdminClient } from "../../bin/api-client.ts";
import { apiError, failoverClient, productionClient, unique } from "../support/api.ts";
import { waitFor } from "../support/wait.ts";

interface Snapshot {
  at: string;
  domain: Record<string, unknown> | null;
  users: Record<string, unknown>[];
  groups: Record<string, unknown>[];
  services: Record<string, unknown>[];
}
interface Rewind {
  dryRun: boolean;
  added: string[];
  removed: string[];
  changed: { id: string; fields: string[] }[];
  applied?: number;
}
interface HistoryPage {
  items: { at: string; id: string; op: string; origin: string; fields: string[] }[];
  cursor: string | null;
}

const production = productionClient();
const failover = failoverClient();

/** A domain's configuration as its GET routes show it, without versions and times. */
async function configOf(client: AdminClient, domain: string) {
  const strip = (items: Record<string, unknown>[]) =>
    items.map(({ version: _v, updatedAt: _u, running: _r, ...rest }) => rest);
  const list = async (kind: string) =>
    strip(
      (
        await client.request<{ items: Record<string, unknown>[] }>(
          "GET",
          `/api/domains/${domain}/${kind}?limit=1000`,
        )
      ).items,
    );
  const domainItem = await client
    .request<Record<string, unknown>>("GET", `/api/domains/${domain}`)
    .catch(() => undefined);
  if (!domainItem) return { domain: null };
  return {
    domain: strip([domainItem])[0],
    users: await list("users"),
    groups: await list("groups"),
    services: await list("services"),
  };
}

/** A snapshot as the same shape (its items as their GET routes show them). */
function configOfSnapshot(snapshot: Snapshot) {
  const strip = (items: Record<string, unknown>[]) =>
    items.map(({ version: _v, updatedAt: _u, running: _r, ...rest }) => rest);
  if (!snapshot.domain) return { domain: null };
  return {
    domain: strip([snapshot.domain])[0],
    users: strip(snapshot.users),
    groups: strip(snapshot.groups),
    services: strip(snapshot.services),
  };
}

const domain = unique("oops");
let before: Awaited<ReturnType<typeof configOf>>;
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
});
