import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { OpenAPIBackend } from "openapi-backend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminApiDeps, adminApiHandlers } from "../../functions/admin-api/app.ts";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";

/**
 * The OpenAPI document (GET /api/openapi.json) against a maintained validator, against what the
 * router serves, and against real answers: each answer below must have a status its operation
 * declares (no `default` catches the rest), and its body is validated by openapi-backend (its
 * router and response validator, on ajv with draft 2020-12, OpenAPI 3.1's dialect) against the
 * document. Own runtime: it turns automatic sync off, runs a full sync and a takeover, and
 * reads a server without web settings.
 */
type Operation = {
  operationId: string;
  responses: Record<string, { content?: Record<string, unknown> }>;
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
};

let runtime: LocalRuntime;
let document: Document;
let validator: OpenAPIBackend;

/** openapi-backend over the document as served; its ajv speaks draft 2020-12. */
async function responseValidator(served: Document): Promise<OpenAPIBackend> {
  const backend = new OpenAPIBackend({
    definition: structuredClone(served) as never,
    // Its own check of the document knows OpenAPI 3.0 only; the first test checks it as 3.1.
    quick: true,
    strict: true,
    customizeAjv: (_ajv, options) => {
      const ajv = new Ajv2020({ ...options, strict: false, allErrors: true });
      addFormats.default(ajv);
      return ajv as never;
    },
  });
  await backend.init();
  return backend;
}
/** Operation (`GET /path/{p}`) → the statuses whose answers were checked. */
const checked = new Map<string, Set<number>>();

const basic = () =>
  `Basic ${Buffer.from(`${runtime.admin.username}:${runtime.admin.password}`).toString("base64")}`;

/**
 * The document's operation whose path template matches `path`; for a method the path does not
 * have, any of the path's operations (each documents the 405).
 */
function operationOf(method: string, path: string): { template: string; operation: Operation } {
  const bare = path.split("?")[0] as string;
  const templates = Object.keys(document.paths).sort(
    (a, b) => Number(a.includes("{")) - Number(b.includes("{")),
  );
  for (const template of templates) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    const operations = document.paths[template] ?? {};
    if (!pattern.test(bare)) continue;
    const operation = operations[method.toLowerCase()] ?? Object.values(operations)[0];
    if (operation) return { template, operation };
  }
  throw new Error(`${method} ${path} is not documented`);
}

/** The answer the operation declares for `status`: exactly, or by its range (`5XX`). */
const declared = (operation: Operation, status: number) =>
  operation.responses[String(status)] ?? operation.responses[`${String(status)[0]}XX`];

/** Calls the region's API and checks the answer against the documented schema. */
async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: {
    body?: unknown;
    region?: "production" | "failover";
    auth?: boolean;
    /** Sent as they are (a body that is not JSON, a page's Origin). */
    headers?: Record<string, string>;
    raw?: string;
  } = {},
): Promise<{ status: number; body: T }> {
  const base = runtime[options.region ?? "production"].url;
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.auth === false ? {} : { authorization: basic() }),
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.raw !== undefined ? { body: options.raw } : {}),
  });
  const text = await response.text();
  const body = (text ? JSON.parse(text) : undefined) as T;
  const { template, operation } = operationOf(method, path);
  const where = `${method} ${path} → ${response.status} ${text.slice(0, 300)}`;
  const answer = declared(operation, response.status);
  expect(answer, `${where}: the operation does not declare this status`).toBeDefined();
  if (answer?.content) {
    const result = validator.validateResponse(body, operation.operationId, response.status);
    expect(result.errors ?? [], where).toEqual([]);
  } else {
    expect(text, `${where}: declared without a body`).toBe("");
  }
  const key = `${method} ${template}`;
  checked.set(key, (checked.get(key) ?? new Set()).add(response.status));
  return { status: response.status, body };
}

beforeAll(async () => {
  runtime = await startOwnRuntime();
  const response = await fetch(`${runtime.production.url}/api/openapi.json`);
  expect(response.status).toBe(200);
  document = (await response.json()) as Document;
  validator = await responseValidator(document);
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
});

describe("OpenAPI document (GET /api/openapi.json)", { timeout: 120_000 }, () => {
  it("is valid OpenAPI 3.1 for a maintained validator, and public", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(document.openapi).toBe("3.1.0");
  });

  it("documents every route the router serves, and nothing it does not", async () => {
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // The handlers app.ts builds, not the table they are typed by.
    const served = Object.keys(adminApiHandlers({} as AdminApiDeps));
    expect(documented.sort()).toEqual(served.sort());
    // And the running server answers each documented operation with its handler (never the
    // router's 404 or 405), given sample parameters.
    for (const key of documented) {
      const [method, template] = key.split(" ") as [string, string];
      const path = template.replace("{file}", "console.js").replace(/\{[^}]+\}/g, "sample");
      const response = await fetch(`${runtime.failover.url}${path}`, {
        method,
        headers: { authorization: basic() },
      });
      const text = await response.text();
      expect(response.status, `${key}: ${text}`).not.toBe(405);
      expect(text, key).not.toMatch(/"no route /);
    }
  });

  it("matches the real answers of the server, successes and errors", async () => {
    // A server without web settings answers the defaults (not 404), then the saved ones.
    expect((await call("GET", "/api/settings/web")).body).toEqual({
      id: "web",
      enabled: false,
      port: 443,
    });
    expect(
      (await call("PUT", "/api/settings/web", { body: { enabled: true, port: 8443 } })).status,
    ).toBe(201);
    expect(
      (await call("PUT", "/api/settings/web", { body: { enabled: true, port: 8444 } })).status,
    ).toBe(200);
    expect((await call("GET", "/api/settings/web")).body).toMatchObject({ port: 8444 });
    expect(
      (await call("PUT", "/api/settings/web", { body: { enabled: true, port: 0 } })).status,
    ).toBe(400);

    await call("GET", "/health", { auth: false });
    expect((await call("GET", "/api/failover", { auth: false })).status).toBe(401);
    expect(
      (await call("PUT", "/api/domains/oa", { body: { description: "<script>x</script>" } }))
        .status,
    ).toBe(201);
    await call("GET", "/api/domains/oa");
    await call("GET", "/api/domains?limit=1");
    await call("POST", "/api/domains/oa/start");
    await call("POST", "/api/domains/oa/stop");
    await call("PUT", "/api/domains/oa/users/alice", {
      body: { password: "alice-Passw0rd!", homeDirectory: "/data/alice", groups: [] },
    });
    await call("GET", "/api/domains/oa/users");
    await call("GET", "/api/domains/oa/users/alice");
    await call("PUT", "/api/domains/oa/groups/ops", { body: { description: "ops" } });
    await call("GET", "/api/domains/oa/groups");
    await call("PUT", "/api/domains/oa/services/sftp", {
      body: { protocol: "SFTP", ip: "10.0.0.1", port: 22 },
    });
    await call("GET", "/api/domains/oa/services");
    await call("PUT", "/api/triggers/oa-mail", {
      body: {
        event: "Failover Synchronization",
        actions: [{ type: "email", to: ["ops@example.com"], subject: "s", body: "b" }],
      },
    });
    await call("GET", "/api/triggers");
    expect((await call("DELETE", "/api/domains/oa/groups/ops")).status).toBe(204);
    expect((await call("GET", "/api/domains/oa/groups/ops")).status).toBe(404);
    expect((await call("GET", "/api/domains/-bad")).status).toBe(400);
    expect((await call("GET", "/api/domains?limit=0")).status).toBe(400);
    expect((await call("PUT", "/api/domains/oa2", { body: { description: 5 } })).status).toBe(400);
    const text = { headers: { "content-type": "text/plain" }, raw: "description=x" };
    expect((await call("PUT", "/api/domains/oa2", text)).status).toBe(415);
    const page = { headers: { origin: "https://pages.example.org" } };
    expect((await call("POST", "/api/domains/oa/stop", page)).status).toBe(403);
    expect((await call("POST", "/api/domains/nope/start")).status).toBe(404);
    expect(
      (await call("PUT", "/api/domains/oa", { body: { description: "x", version: 1 } })).status,
    ).toBe(409);

    // Failover settings, status, test connection, verify: with automatic sync on.
    const settings = (await call<{ host: string; port: number }>("GET", "/api/failover")).body;
    await call("GET", "/api/failover/status");
    expect((await call<{ ok: boolean }>("POST", "/api/failover/test")).body.ok).toBe(true);
    await call("GET", "/api/failover/drift");
    await call("POST", "/api/failover/repair");
    expect((await call("POST", "/api/failover/synchronize")).status).toBe(409);
    expect(
      (await call("PUT", "/api/failover", { body: { ...settings, port: 70000 } })).status,
    ).toBe(400);
    const off = { ...settings, enabled: true, autoSync: false } as Record<string, unknown>;
    delete off.passwordSet;
    await call("PUT", "/api/failover", { body: off });
    expect((await call("POST", "/api/failover/resume")).status).toBe(409);

    // A full sync, followed to its end.
    const { body: started } = await call<{ syncId: string }>("POST", "/api/failover/synchronize");
    expect(started.syncId).toBeTruthy();
    await waitFor(
      async () => {
        const { body } = await call<{ state: string }>(
          "GET",
          `/api/failover/syncs/${started.syncId}`,
        );
        return body.state !== "running";
      },
      60_000,
      "the full sync to end",
    );
    await call("GET", "/api/failover/status");
    expect((await call("GET", "/api/failover/syncs/no-such-sync")).status).toBe(404);
    // The run's fence, kept by the failover, cleared by an admin there.
    expect(
      (await call<{ cleared: unknown }>("DELETE", "/api/failover/fence", { region: "failover" }))
        .body.cleared,
    ).toMatchObject({ syncId: started.syncId });

    // The failover's side: the peer protocol's hello, a refused event batch, a takeover.
    await call("GET", "/api/sync/hello", { region: "failover" });
    expect((await call("POST", "/api/sync/events", { region: "failover", body: {} })).status).toBe(
      400,
    );
    await call("POST", "/api/failover/takeover", { region: "failover" });
    expect((await call("PATCH", "/api/failover")).status).toBe(405);
    expect((await call("DELETE", "/api/domains/oa")).status).toBe(204);

    const statuses = new Set([...checked.values()].flatMap((set) => [...set]));
    expect([...statuses].sort()).toEqual([200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 415]);
    expect(checked.size).toBeGreaterThanOrEqual(30);
  });

  it("its validator refuses a status or a body the document does not declare", () => {
    const { operation } = operationOf("GET", "/api/domains/acme");
    expect(declared(operation, 404)).toBeDefined();
    expect(declared(operation, 418)).toBeUndefined();
    expect(declared(operation, 503)).toBeDefined();
    const wrongItem = validator.validateResponse({ name: 5 }, operation.operationId, 200);
    expect(wrongItem.errors?.length).toBeGreaterThan(0);
    const wrongError = validator.validateResponse({ message: "x" }, operation.operationId, 404);
    expect(wrongError.errors?.length).toBeGreaterThan(0);
  });
});
