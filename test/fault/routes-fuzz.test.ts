import { createHash } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import { routeList } from "../../functions/admin-api/routes.ts";
import { type LocalRuntime, startLocal } from "../../infra/local/runtime.ts";
import { canonicalJson } from "../../shared/sync/full/digest.ts";

/**
 * R25: no request of any shape makes a route answer 5xx, show a stack trace or a secret, and a
 * refused (4xx) request saves nothing. Random and malformed paths, methods, headers and bodies
 * against every route of the admin API's route table (what it serves and API Gateway declares). Own runtime: production's
 * automatic sync is turned off, so the table changes only through the requests themselves.
 */
const RUNS_PER_ROUTE = 40;
const FAILOVER_SECRET = "fuzz-Failover-S3cret";

let runtime: LocalRuntime;
let tried = 0;

/** Every stored record of production's table, LOCAL state included, as one digest. */
async function tableDigest(): Promise<string> {
  const hash = createHash("sha256");
  const rows: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await runtime.primary.services.bulk.scan(0, 1, {
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    for (const record of page.items) rows.push(canonicalJson(record));
    cursor = page.cursor;
  } while (cursor);
  for (const row of rows.sort()) hash.update(row);
  return hash.digest("hex");
}

/** Every route of the table the router and API Gateway are built from (other methods below). */
const routes = routeList().map(({ method, path }) => ({ method: method as string, path }));

const segment = fc.oneof(
  fc.constantFrom("acme", "alice", "web", "x", "a".repeat(64), "a".repeat(300)),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: "grapheme", maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom("%", "%E0%A4%A", "%00", "%2F", "..", "%2e%2e", "%FF%FE", "a%20b", "%C0%AF"),
);

const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc
    .dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 })
    .map((value) => JSON.stringify(value)),
  // Near-valid: the fields routes take, with wrong types or extremes, plus unknown ones.
  fc
    .record(
      {
        enabled: fc.oneof(fc.boolean(), fc.string(), fc.constant(null)),
        host: fc.oneof(fc.domain(), fc.string({ maxLength: 300 })),
        port: fc.oneof(fc.integer(), fc.double(), fc.string()),
        password: fc.oneof(fc.string({ maxLength: 2000 }), fc.integer()),
        origin: fc.string({ maxLength: 300 }),
        syncId: fc.string({ maxLength: 100 }),
        fence: fc.oneof(fc.integer(), fc.double(), fc.constant(-1)),
        segment: fc.oneof(fc.integer(), fc.double()),
        totalSegments: fc.oneof(fc.integer(), fc.constant(0)),
        cursor: fc.string({ maxLength: 100 }),
        changes: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }),
        items: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }),
        actions: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }),
        version: fc.oneof(fc.integer(), fc.constant(Number.MAX_SAFE_INTEGER), fc.string()),
        unknownField: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  fc.nat({ max: 20_000 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`),
  fc.nat({ max: 5000 }).map((depth) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`),
  fc.constant(JSON.stringify({ description: "x".repeat(2_000_000) })),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.constant(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), // {"\xff\xfe":1}
);

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

beforeAll(async () => {
  runtime = await startLocal({ primaryPort: 0, failoverPort: 0, seed: true });
  const production = new AdminClient(runtime.primary.url, runtime.admin);
  // Automatic sync off: nothing but the requests writes to the table. A stored failover
  // password, so that a leak of it would show.
  await production.request("PUT", "/api/failover", {
    enabled: false,
    host: "failover.example.com",
    username: "syncer",
    password: FAILOVER_SECRET,
  });
}, 120_000);

afterAll(async () => {
  console.info(`fuzz: ${tried} requests over ${routes.length} routes`);
  await runtime?.stop();
});

describe("every route, any request (R25)", { timeout: 300_000 }, () => {
  it("answers 2xx or a JSON 4xx, never 5xx, a stack or a secret; a 4xx saves nothing", async () => {
    const authorization = fc.oneof(
      { weight: 8, arbitrary: fc.constant(basic("admin", runtime.admin.password)) },
      fc.constant(undefined),
      fc.constant(basic("admin", "wrong")),
      fc.constant("Basic !!!"),
      fc.constant("Bearer x"),
    );
    // Mostly JSON, so that most bodies get past the 415 to the validation they probe.
    const contentType = fc.oneof(
      { weight: 4, arbitrary: fc.constant("application/json") },
      fc.constantFrom(
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        undefined,
      ),
    );
    const request = fc.record({
      route: fc.constantFrom(...routes),
      otherMethod: fc.option(fc.constantFrom("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"), {
        freq: 5,
      }),
      segments: fc.array(segment, { minLength: 3, maxLength: 3 }),
      suffix: fc.option(
        fc.constantFrom("/", "//x", "/..", "?limit=0", "?cursor=%%", "?limit=1e9"),
        {
          freq: 5,
        },
      ),
      body,
      authorization,
      contentType,
    });

    let before = await tableDigest();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let index = 0;
        const path = r.route.path.replace(/\{[^}]+\}/g, () => r.segments[index++] ?? "x");
        const method = r.otherMethod ?? r.route.method;
        const headers: Record<string, string> = {};
        if (r.authorization) headers.authorization = r.authorization;
        if (r.contentType) headers["content-type"] = r.contentType;
        const sendsBody = r.body !== undefined && method !== "GET" && method !== "HEAD";
        let after: string | undefined;
        try {
          const response = await fetch(`${runtime.primary.url}${path}${r.suffix ?? ""}`, {
            method,
            headers,
            ...(sendsBody ? { body: r.body } : {}),
          });
          tried++;
          const text = await response.text();
          const where = `${method} ${path}${r.suffix ?? ""} → ${response.status} ${text.slice(0, 300)}`;
          expect(response.status, where).toBeLessThan(500);
          expect(text, where).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
          expect(text, where).not.toContain(runtime.admin.password);
          expect(text, where).not.toContain(FAILOVER_SECRET);
          after = await tableDigest();
          if (response.status >= 400) {
            expect(JSON.parse(text), where).toEqual({
              error: { code: expect.any(String), message: expect.any(String) },
            });
            expect(after, `${where}: a refused request changed the table`).toBe(before);
          }
        } finally {
          // A failed run leaves the table as it is: the next one (shrinking too) starts from there.
          before = after ?? (await tableDigest());
        }
      }),
      { numRuns: RUNS_PER_ROUTE * routes.length },
    );
    expect(tried).toBe(RUNS_PER_ROUTE * routes.length);
  });
});
