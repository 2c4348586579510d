import { describe, expect, inject, it } from "vitest";
import { admin, apiError, productionClient, unique } from "../support/api.ts";
import { exclusively } from "../support/exclusive.ts";

const api = productionClient();
type Item = Record<string, unknown> & { version: number };
type Page = { items: Item[]; nextCursor?: string };

async function createDomain(prefix = "dom") {
  const domain = unique(prefix);
  await api.request("PUT", `/api/domains/${domain}`, { description: "test" });
  return domain;
}

describe("admin API: configuration CRUD (R1, SPEC §8)", () => {
  it("creates, reads, lists, updates and deletes a domain", async () => {
    const domain = unique("crud");
    const created = await api.request<Item>("PUT", `/api/domains/${domain}`, {
      description: "first",
      limits: { maxUsers: 10 },
    });
    expect(created).toMatchObject({ name: domain, description: "first", running: false });

    const updated = await api.request<Item>("PUT", `/api/domains/${domain}`, {
      description: "second",
    });
    expect(updated.version).toBeGreaterThan(created.version);
    expect(await api.request("GET", `/api/domains/${domain}`)).toMatchObject({
      description: "second",
    });
    const all = await api.request<Page>("GET", "/api/domains?limit=1000");
    expect(all.items.map((item) => item.name)).toContain(domain);

    await api.request("DELETE", `/api/domains/${domain}`);
    expect((await apiError(api.request("GET", `/api/domains/${domain}`))).status).toBe(404);
  });

  it("stores a user's password only as a scrypt hash and never returns it", async () => {
    const domain = await createDomain();
    const password = "correct horse battery";
    const user = await api.request<Item>("PUT", `/api/domains/${domain}/users/alice`, {
      password,
      email: "alice@example.com",
      homeDirectory: "/home/alice",
    });
    expect(user).toMatchObject({ username: "alice", passwordSet: true, enabled: true, groups: [] });
    expect(JSON.stringify(user)).not.toMatch(/correct horse|scrypt|passwordHash/);

    // An update without a password keeps the stored hash.
    const kept = await api.request<Item>("PUT", `/api/domains/${domain}/users/alice`, {
      homeDirectory: "/home/alice2",
    });
    expect(kept).toMatchObject({ homeDirectory: "/home/alice2", passwordSet: true });
    const error = await apiError(
      api.request("PUT", `/api/domains/${domain}/users/bob`, { homeDirectory: "/home/bob" }),
    );
    expect(error).toMatchObject({ status: 400, message: expect.stringMatching(/^password:/) });
  });

  it("creates groups, services (IPs normalized), web settings and triggers", async () => {
    const domain = await createDomain();
    await api.request("PUT", `/api/domains/${domain}/groups/partners`, { description: "p" });
    const service = await api.request<Item>("PUT", `/api/domains/${domain}/services/sftp`, {
      protocol: "SFTP",
      ip: "2001:DB8:0:0:0:0:0:1",
      port: 22,
    });
    expect(service).toMatchObject({ id: "sftp", ip: "2001:db8::1", port: 22 });
    expect((await api.request<Page>("GET", `/api/domains/${domain}/groups`)).items).toHaveLength(1);
    expect((await api.request<Page>("GET", `/api/domains/${domain}/services`)).items).toHaveLength(
      1,
    );

    await exclusively("web-settings", async () => {
      const web = await api.request<Item>("PUT", "/api/settings/web", {
        enabled: true,
        port: 8443,
      });
      expect(await api.request("GET", "/api/settings/web")).toMatchObject({
        port: 8443,
        version: web.version,
      });
    });

    const trigger = unique("trg");
    await api.request("PUT", `/api/triggers/${trigger}`, {
      event: "Failover Synchronization",
      condition: { variable: "Success", op: "==", value: false },
      actions: [{ type: "email", to: ["ops@example.com"], subject: "Sync failed: {{Reason}}" }],
    });
    expect(await api.request("GET", `/api/triggers/${trigger}`)).toMatchObject({
      id: trigger,
      enabled: true,
    });
    await api.request("DELETE", `/api/triggers/${trigger}`);
    expect((await apiError(api.request("GET", `/api/triggers/${trigger}`))).status).toBe(404);
  });

  it("starts and stops a domain (run state, R2)", async () => {
    const domain = await createDomain();
    expect(await api.request("POST", `/api/domains/${domain}/start`)).toMatchObject({
      running: true,
    });
    // An update of the domain keeps its run state.
    await api.request("PUT", `/api/domains/${domain}`, { description: "renamed" });
    expect(await api.request("GET", `/api/domains/${domain}`)).toMatchObject({ running: true });
    expect(await api.request("POST", `/api/domains/${domain}/stop`)).toMatchObject({
      running: false,
    });
  });

  it("deletes a domain's users, groups and services with it", async () => {
    const domain = await createDomain();
    await api.request("PUT", `/api/domains/${domain}/users/u1`, {
      password: "password-1",
      homeDirectory: "/h",
    });
    await api.request("PUT", `/api/domains/${domain}/groups/g1`, {});
    await api.request("PUT", `/api/domains/${domain}/services/s1`, {
      protocol: "FTP",
      ip: "10.0.0.1",
      port: 21,
    });

    await api.request("DELETE", `/api/domains/${domain}`);
    await api.request("PUT", `/api/domains/${domain}`, {});

    for (const kind of ["users", "groups", "services"]) {
      expect((await api.request<Page>("GET", `/api/domains/${domain}/${kind}`)).items).toEqual([]);
    }
  });

  it("pages through long lists with a cursor", async () => {
    const domain = await createDomain();
    await Promise.all(
      [1, 2, 3, 4, 5].map((n) => api.request("PUT", `/api/domains/${domain}/groups/g${n}`, {})),
    );
    const names: unknown[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = `limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await api.request<Page>("GET", `/api/domains/${domain}/groups?${query}`);
      names.push(...page.items.map((item) => item.name));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(names).toEqual(["g1", "g2", "g3", "g4", "g5"]);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it("answers 404 for items of a missing domain and for unknown routes", async () => {
    const missing = unique("missing");
    expect(await apiError(api.request("GET", `/api/domains/${missing}/users/x`))).toMatchObject({
      status: 404,
      message: `domain ${missing} not found`,
    });
    expect(
      await apiError(
        api.request("PUT", `/api/domains/${missing}/users/x`, {
          password: "12345678",
          homeDirectory: "/x",
        }),
      ),
    ).toMatchObject({ status: 404 });
    expect((await apiError(api.request("GET", "/api/nothing-here"))).status).toBe(404);
  });

  it("answers 405 with Allow to a method the path does not have", async () => {
    const response = await fetch(new URL("/api/failover", inject("productionUrl")), {
      method: "PATCH",
      headers: {
        authorization: `Basic ${Buffer.from(`admin:${admin().password}`).toString("base64")}`,
      },
      body: JSON.stringify({ timeoutMs: 5000 }),
    });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, PUT");
    expect(await response.json()).toEqual({
      error: { code: "method_not_allowed", message: "PATCH is not allowed here; use GET, PUT" },
    });
    // Also on a path with parameters, and before anything is read.
    const item = await fetch(
      new URL(`/api/domains/${unique("d")}/users/x`, inject("productionUrl")),
      {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`admin:${admin().password}`).toString("base64")}`,
        },
      },
    );
    expect(item.status).toBe(405);
    expect(item.headers.get("allow")).toBe("GET, PUT, DELETE");
  });
});

describe("admin API: concurrent updates (409)", () => {
  it("lets only one of two updates made from the same version win", async () => {
    const domain = await createDomain();
    const { version } = await api.request<Item>("GET", `/api/domains/${domain}`);

    const results = await Promise.allSettled([
      api.request("PUT", `/api/domains/${domain}`, { description: "A", version }),
      api.request("PUT", `/api/domains/${domain}`, { description: "B", version }),
    ]);

    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    const rejected = results.find((result) => result.status === "rejected");
    expect(rejected?.status === "rejected" && rejected.reason).toMatchObject({
      status: 409,
      code: "conflict",
    });
  });

  it("refuses an update from a version that is no longer current", async () => {
    const domain = await createDomain();
    const { version } = await api.request<Item>("GET", `/api/domains/${domain}`);
    await api.request("PUT", `/api/domains/${domain}`, { description: "newer" });

    const error = await apiError(
      api.request("PUT", `/api/domains/${domain}`, { description: "stale", version }),
    );

    expect(error.status).toBe(409);
    expect(await api.request("GET", `/api/domains/${domain}`)).toMatchObject({
      description: "newer",
    });
  });
});

describe("admin API: authentication", () => {
  const url = (path: string) => new URL(path, inject("productionUrl"));
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  it("serves /health without credentials", async () => {
    const response = await fetch(url("/health"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", region: "local-primary" });
  });

  it.each([
    ["no credentials", undefined],
    ["a wrong password", basic("admin", "wrong")],
    ["a wrong user", basic("root", admin().password)],
    ["a malformed header", "Bearer abc"],
  ])("answers 401 to %s on every other route", async (_, authorization) => {
    for (const path of ["/api/domains", "/api/failover", "/api/settings/web", "/api/triggers"]) {
      const response = await fetch(url(path), authorization ? { headers: { authorization } } : {});
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: { code: "unauthorized", message: "valid Basic credentials are required" },
      });
    }
  });
});
