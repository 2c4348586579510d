import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, inject, it } from "vitest";
import { admin, apiError, failoverClient, productionClient, unique } from "../support/api.ts";
import { exclusively } from "../support/exclusive.ts";

const api = productionClient();

/**
 * Every write route: a bad body answers 400 naming the field, and nothing is saved
 * (the item stays absent, or keeps its previous value).
 */
describe("bad input on every write route answers 400 naming the field and saves nothing", () => {
  it.each([
    ["domain: unknown field", "", { description: "x", colour: "red" }, "colour"],
    ["domain: limits wrong type", "", { limits: { maxUsers: -1 } }, "limits.maxUsers"],
    [
      "user: relative home",
      "/users/u1",
      { password: "password1", homeDirectory: "home" },
      "homeDirectory",
    ],
    ["user: short password", "/users/u1", { password: "short", homeDirectory: "/h" }, "password"],
    [
      "user: bad email",
      "/users/u1",
      { password: "password1", homeDirectory: "/h", email: "x" },
      "email",
    ],
    [
      "user: bad group name",
      "/users/u1",
      { password: "password1", homeDirectory: "/h", groups: ["ok", "b d"] },
      "groups[1]",
    ],
    ["group: unknown field", "/groups/g1", { members: [] }, "members"],
    [
      "service: protocol",
      "/services/s1",
      { protocol: "SMTP", ip: "10.0.0.1", port: 25 },
      "protocol",
    ],
    ["service: ip", "/services/s1", { protocol: "SFTP", ip: "10.0.0.300", port: 22 }, "ip"],
    ["service: port", "/services/s1", { protocol: "SFTP", ip: "10.0.0.1", port: 70000 }, "port"],
    ["service: missing port", "/services/s1", { protocol: "SFTP", ip: "10.0.0.1" }, "port"],
  ])("%s", async (_, path, body, field) => {
    const domain = unique("bad");
    const target = `/api/domains/${domain}${path}`;
    if (path) await api.request("PUT", `/api/domains/${domain}`, {});

    const error = await apiError(api.request("PUT", target, body));

    expect(error).toMatchObject({ status: 400, code: "invalid_request" });
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect((await apiError(api.request("GET", target))).status).toBe(404);
  });

  it.each([
    [
      "trigger: condition variable",
      {
        event: "Failover Synchronization",
        condition: { variable: "Colour", op: "==", value: 1 },
        actions: [{ type: "email", to: ["a@example.com"], subject: "s" }],
      },
      "condition",
    ],
    ["trigger: no actions", { event: "Failover Synchronization", actions: [] }, "actions"],
    [
      "trigger: bad url",
      { event: "Failover Synchronization", actions: [{ type: "http", url: "ftp://x" }] },
      "actions[0].url",
    ],
    [
      "trigger: bad event",
      {
        event: "Something Else",
        actions: [{ type: "email", to: ["a@example.com"], subject: "s" }],
      },
      "event",
    ],
  ])("%s", async (_, body, field) => {
    const id = unique("trg");
    const error = await apiError(api.request("PUT", `/api/triggers/${id}`, body));
    expect(error.status).toBe(400);
    expect(error.message.startsWith(`${field}`)).toBe(true);
    expect((await apiError(api.request("GET", `/api/triggers/${id}`))).status).toBe(404);
  });

  it("web settings keep their previous value", async () => {
    await exclusively("web-settings", async () => {
      const before = await api.request("PUT", "/api/settings/web", { enabled: false, port: 8080 });
      const error = await apiError(
        api.request("PUT", "/api/settings/web", { enabled: true, port: 0 }),
      );
      expect(error).toMatchObject({ status: 400, message: expect.stringMatching(/^port: /) });
      expect(await api.request("GET", "/api/settings/web")).toEqual(before);
    });
  });

  it("path parameters are validated like fields", async () => {
    const error = await apiError(api.request("PUT", "/api/domains/bad%20name", {}));
    expect(error).toMatchObject({ status: 400, message: expect.stringMatching(/^domain: /) });
  });

  it("a body that is not JSON", async () => {
    const { username, password } = admin();
    const response = await fetch(new URL("/api/domains/x", inject("productionUrl")), {
      method: "PUT",
      headers: {
        authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
        "content-type": "application/json",
      },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: "invalid_request", message: "body: is not valid JSON" },
    });
  });

  it("a bad page size or cursor", async () => {
    expect((await apiError(api.request("GET", "/api/domains?limit=0"))).message).toMatch(
      /^limit: /,
    );
    expect((await apiError(api.request("GET", "/api/domains?cursor=zzz"))).message).toMatch(
      /^cursor: /,
    );
  });

  it.each([
    ["a key of another listing", { pk: "DOMAIN#x", sk: "USER#a" }],
    ["a key of the wrong type", { pk: 1, sk: "DOMAIN" }],
    ["other attributes", { pk: "DOMAIN#x", sk: "DOMAIN", data: "x" }],
  ])("a forged cursor: %s (R25: 400, not 500)", async (_what, key) => {
    const cursor = Buffer.from(JSON.stringify(key)).toString("base64url");
    const error = await apiError(api.request("GET", `/api/domains?cursor=${cursor}`));
    expect(error).toMatchObject({ status: 400, message: expect.stringMatching(/^cursor: /) });
  });

  it("malformed percent-encoding in a path (R25: 400, not 500)", async () => {
    const error = await apiError(api.request("GET", "/api/domains/%E0%A4%A"));
    expect(error).toMatchObject({ status: 400, message: expect.stringMatching(/^domain: /) });
  });

  it("a scan segment out of range on the receiving side (R25: 400, not 500)", async () => {
    const error = await apiError(
      failoverClient().request("POST", "/api/sync/full/digest", {
        origin: "elsewhere",
        syncId: "s",
        fence: 1,
        segment: 4,
        totalSegments: 4,
      }),
    );
    expect(error).toMatchObject({ status: 400, message: expect.stringMatching(/^segment: /) });
  });
});

describe("failover settings (R5, R4)", () => {
  // The failover region's own settings: production's point at it and other tests rely on them.
  const settingsApi = failoverClient();
  const valid = {
    enabled: true,
    host: "failover.example.com",
    username: "syncer",
    password: "s3cret-Password!",
    ipSubstitutions: [{ ip: "10.0.0.10", substituteIp: "10.1.0.10" }],
  };

  it("applies defaults, keeps the password write-only and never returns it", async () => {
    const saved = await settingsApi.request<Record<string, unknown>>("PUT", "/api/failover", valid);

    expect(saved).toMatchObject({
      port: 443,
      useTls: true,
      timeoutMs: 10000,
      autoSync: false,
      startAfterSync: false,
      passwordSet: true,
    });
    expect(saved).not.toHaveProperty("password");
    const read = await settingsApi.request("GET", "/api/failover");
    expect(JSON.stringify(read)).not.toContain(valid.password);

    // A PUT without a password keeps the stored one.
    const { password: _password, ...withoutPassword } = valid;
    expect(await settingsApi.request("PUT", "/api/failover", withoutPassword)).toMatchObject({
      passwordSet: true,
    });
  });

  it.each([
    ["timeoutMs", { timeoutMs: 50 }],
    ["timeoutMs", { timeoutMs: 60001 }],
    ["port", { port: 0 }],
    ["host", { host: "not a host!" }],
    ["useTls", { useTls: false }],
    [
      "ipSubstitutions[1].ip",
      {
        ipSubstitutions: [
          { ip: "10.0.0.1", substituteIp: "10.0.0.2" },
          { ip: "10.0.0.1", substituteIp: "10.0.0.3" },
        ],
      },
    ],
    [
      "ipSubstitutions[0].substituteIp",
      { ipSubstitutions: [{ ip: "10.0.0.1", substituteIp: "nope" }] },
    ],
    ["surprise", { surprise: true }],
  ])("rejects a bad %s and saves nothing", async (field, change) => {
    await settingsApi.request("PUT", "/api/failover", valid);
    const before = await settingsApi.request("GET", "/api/failover");

    const error = await apiError(
      settingsApi.request("PUT", "/api/failover", { ...valid, ...change }),
    );

    expect(error.status).toBe(400);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect(JSON.stringify(error)).not.toContain(valid.password);
    expect(await settingsApi.request("GET", "/api/failover")).toEqual(before);
  });

  it("asks for the password again before sending it to a new host, port, scheme or user (R25)", async () => {
    // Where an attacker would want the stored password sent: it must see no request at all.
    const seen: (string | undefined)[] = [];
    const trap = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.end("{}");
    });
    await new Promise<void>((resolve) => trap.listen(0, "127.0.0.1", resolve));
    try {
      await settingsApi.request("PUT", "/api/failover", valid);
      const before = await settingsApi.request("GET", "/api/failover");
      const { password: _password, ...withoutPassword } = valid;

      const error = await apiError(
        settingsApi.request("PUT", "/api/failover", {
          ...withoutPassword,
          host: "127.0.0.1",
          port: (trap.address() as AddressInfo).port,
          useTls: false,
          autoSync: true,
        }),
      );

      expect(error.status).toBe(400);
      expect(error.message).toBe("password: is required again when host, port, useTls change");
      expect(seen).toEqual([]);
      expect(await settingsApi.request("GET", "/api/failover")).toEqual(before);
      const renamed = await apiError(
        settingsApi.request("PUT", "/api/failover", { ...withoutPassword, username: "other" }),
      );
      expect(renamed.message).toMatch(/^password: .*username/);
    } finally {
      trap.closeAllConnections();
      await new Promise((resolve) => trap.close(resolve));
    }
  });

  it("allows plain http to a loopback host only", async () => {
    const saved = await settingsApi.request("PUT", "/api/failover", {
      ...valid,
      host: "127.0.0.1",
      useTls: false,
      port: 8620,
    });
    expect(saved).toMatchObject({ useTls: false, host: "127.0.0.1" });
  });
});
