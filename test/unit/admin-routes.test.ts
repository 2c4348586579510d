import { describe, expect, it } from "vitest";
import { type AdminApiDeps, adminApiHandlers } from "../../functions/admin-api/app.ts";
import { createRouter, type RouteHandlers } from "../../functions/admin-api/router.ts";
import { ROUTES, routeList } from "../../functions/admin-api/routes.ts";
import { HttpError, type HttpEvent } from "../../functions/http.ts";
import { lambdaContext } from "../../infra/local/lambda-context.ts";
import { AppError } from "../../shared/errors.ts";

/** A handler per route that answers its own key and what it was given. */
const echo = Object.fromEntries(
  routeList().map(({ key }) => [
    key,
    async (request: { params: unknown; query: unknown }) => ({
      statusCode: 200,
      body: JSON.stringify({ key, params: request.params, query: request.query }),
    }),
  ]),
) as unknown as RouteHandlers;

const event = (method: string, path: string, query?: Record<string, string>) =>
  ({
    rawPath: path,
    headers: {},
    requestContext: { http: { method, path } },
    ...(query ? { queryStringParameters: query } : {}),
  }) as unknown as HttpEvent;

const SAMPLE: Record<string, string> = {
  domain: "acme",
  username: "alice@acme",
  group: "ops",
  id: "sftp-1",
  syncId: "s-1",
  failbackId: "f-1",
  file: "console.js",
};
const samplePath = (path: string) =>
  path.replace(/\{([A-Za-z]+)\}/g, (_match, name: string) => SAMPLE[name] ?? "x");

const router = createRouter(echo);
const answer = async (method: string, path: string, query?: Record<string, string>) => {
  const result = await router.handle(event(method, path, query), lambdaContext("test"));
  return JSON.parse(result.body as string) as { key: string; params: Record<string, string> };
};
const failure = async (method: string, path: string, query?: Record<string, string>) => {
  try {
    await router.handle(event(method, path, query), lambdaContext("test"));
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error(`${method} ${path} did not fail`);
};

describe("the admin API's route table and router (SPEC §8)", () => {
  it("has a handler in app.ts for every route of the table and for nothing else", () => {
    const handlers = adminApiHandlers({} as AdminApiDeps);
    expect(Object.keys(handlers).sort()).toEqual(Object.keys(ROUTES).sort());
    expect(Object.keys(ROUTES).length).toBe(54);
  });

  it("reaches every route's own handler, with its parameters decoded", async () => {
    for (const route of routeList()) {
      // The query a route requires (a moment, R26); the others ignore it.
      const got = await answer(route.method, samplePath(route.path), {
        at: "2026-12-07T10:00:00Z",
      });
      expect(got.key, route.key).toBe(route.key);
    }
    expect((await answer("GET", "/api/domains/acme/users/alice%40acme")).params).toEqual({
      domain: "acme",
      username: "alice@acme",
    });
    // A trailing slash is the same path; a literal path wins over a parameter.
    expect((await answer("GET", "/api/failover/status/")).key).toBe("GET /api/failover/status");
  });

  it("answers 405 with Allow listing the path's methods when the method is not one of them", async () => {
    const error = await failure("PATCH", "/api/failover");
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 405, code: "method_not_allowed" });
    expect((error as HttpError).headers).toEqual({ allow: "GET, PUT" });
    const item = await failure("POST", "/api/domains/acme");
    expect((item as HttpError).headers).toEqual({ allow: "GET, PUT, DELETE" });
    expect(((await failure("DELETE", "/health")) as HttpError).headers).toEqual({
      allow: "GET, HEAD",
    });
  });

  it("answers the public paths (health, console, OpenAPI) to GET and HEAD only (issue 22.11)", async () => {
    for (const path of ["/health", "/", "/console/console.js", "/api/openapi.json"]) {
      const get = await router.handle(event("GET", path), lambdaContext("test"));
      const head = await router.handle(event("HEAD", path), lambdaContext("test"));
      expect(head, `HEAD ${path}`).toEqual({ ...get, body: undefined });
      for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
        const error = await failure(method, path);
        expect(error, `${method} ${path}`).toMatchObject({ status: 405 });
        expect((error as HttpError).headers, `${method} ${path}`).toEqual({ allow: "GET, HEAD" });
      }
    }
    // HEAD is the public GETs' only: an admin path's HEAD is a 405 as before.
    expect(await failure("HEAD", "/api/failover")).toMatchObject({ status: 405 });
  });

  it("answers 404 to a path the table does not have", async () => {
    for (const path of ["/api/nothing", "/api/domains/acme/users/alice/extra", "/console"]) {
      expect(await failure("GET", path)).toMatchObject({ status: 404, code: "not_found" });
    }
  });

  it("validates path and query parameters with the table's schemas before the handler runs", async () => {
    expect(await failure("GET", "/api/domains/-bad")).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^domain: /),
    });
    expect(await failure("GET", "/api/domains/%E0%A4%A")).toMatchObject({
      status: 400,
      message: "domain: is not valid percent-encoding",
    });
    for (const limit of ["0", "1001", "2.5", "x"]) {
      expect(await failure("GET", "/api/triggers", { limit })).toMatchObject({
        status: 400,
        message: "limit: must be an integer from 1 to 1000",
      });
    }
    const page = await router.handle(
      event("GET", "/api/triggers", { limit: "7", cursor: "c" }),
      lambdaContext("test"),
    );
    expect(JSON.parse(page.body as string).query).toEqual({ limit: 7, cursor: "c" });
    const first = await router.handle(event("GET", "/api/triggers"), lambdaContext("test"));
    expect(JSON.parse(first.body as string).query).toEqual({ limit: 100 });
  });

  it("refuses behind API Gateway too a write from another site's page and a body that is not JSON (issue 22.8)", async () => {
    const host = "abc123.execute-api.us-east-1.amazonaws.com";
    const request = (method: string, headers: Record<string, string>, body?: string) =>
      router.handle(
        { ...event(method, "/api/domains/acme"), headers: { host, ...headers }, body },
        lambdaContext("test"),
      );
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: unknown) => error,
      );
    const json = { "content-type": "application/json" };
    expect(
      await refusal(request("PUT", { ...json, origin: "https://attacker.example" }, "{}")),
    ).toMatchObject({ status: 403, code: "forbidden" });
    expect(
      await refusal(request("DELETE", { origin: `http://${host}.attacker.example` })),
    ).toMatchObject({
      status: 403,
    });
    expect(await refusal(request("PUT", { "content-type": "text/plain" }, "{}"))).toMatchObject({
      status: 415,
      code: "unsupported_media_type",
    });
    // Its own pages (https, default port), clients without Origin, and reads pass.
    expect((await request("PUT", { ...json, origin: `https://${host}` }, "{}")).statusCode).toBe(
      200,
    );
    expect((await request("DELETE", {})).statusCode).toBe(200);
    expect((await request("GET", { origin: "https://attacker.example" })).statusCode).toBe(200);
  });

  it("knows which paths are public: health, the console and the OpenAPI document only", () => {
    const publicPaths = ["/health", "/", "/console/console.js", "/api/openapi.json"];
    for (const path of publicPaths) expect(router.isPublic(path), path).toBe(true);
    for (const path of ["/api/failover", "/api/sync/hello", "/api/nothing", "/x"]) {
      expect(router.isPublic(path), path).toBe(false);
    }
  });
});
