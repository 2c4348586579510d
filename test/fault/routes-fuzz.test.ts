import { createHash } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import { routeList } from "../../functions/admin-api/routes.ts";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { AppError } from "../../shared/errors.ts";
import type { FullSyncPeer } from "../../shared/ports.ts";
import { MAX_CLOCK_SKEW_MS } from "../../shared/sync/apply.ts";
import { canonicalJson, EMPTY_DIGEST } from "../../shared/sync/full/digest.ts";
import { type DriftReport, verify } from "../../shared/sync/verify.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";

/**
 * R25: no request of any shape makes a route answer 5xx, show a stack trace or a secret, and a
 * refused (4xx) request saves nothing. Random and malformed paths, methods, headers and bodies
 * against every route of the admin API's route table (what it serves and API Gateway declares);
 * then the peer's own shapes against the receiving routes (`/api/sync/...`), and the failover's
 * answers against verify. Own runtime: production's automatic sync is turned off, so the table
 * changes only through the requests themselves.
 */
const RUNS_PER_ROUTE = 40;
const PEER_RUNS_PER_ROUTE = 50;
const VERIFY_RUNS = 200;
const FAILOVER_SECRET = "fuzz-Failover-S3cret";
/** A trigger's secret header value, stored on production: no answer may show it. */
const HEADER_SECRET = "Bearer fuzz-Header-S3cret";

let runtime: LocalRuntime;
let tried = 0;
let triedPeer = 0;

/**
 * Every stored record of production's table, LOCAL state included: a line per record (its key,
 * version and a digest of the rest), so that a failed comparison shows which records changed.
 */
async function tableDigest(): Promise<string> {
  const rows: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await runtime.production.services.bulk.scan(0, 1, {
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    for (const record of page.items) {
      const digest = createHash("sha256").update(canonicalJson(record)).digest("hex");
      rows.push(`${record.pk} ${record.sk} v${record.version} ${digest.slice(0, 12)}`);
    }
    cursor = page.cursor;
  } while (cursor);
  return rows.sort().join("\n");
}

/** No answer shows a stack, a password, a password hash or a secret header's value (R4, R25). */
function expectNoSecret(text: string, where: string) {
  expect(text, where).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  expect(text, where).not.toContain(runtime.admin.password);
  expect(text, where).not.toContain(FAILOVER_SECRET);
  expect(text, where).not.toContain(HEADER_SECRET);
  expect(text, where).not.toContain("scrypt$");
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

/** The receiving routes, which only the peer calls: each gets bodies of the peer's own shapes. */
const peerRoutes = routes.filter(
  ({ path }) => path.startsWith("/api/sync/") && path !== "/api/sync/hello",
);

/** Now, or an offset from it, in ms (evaluated per run: the bound moves with the clock). */
const aroundNow = (minMs: number, maxMs: number) =>
  fc.integer({ min: minMs, max: maxMs }).map((offset) => Date.now() + offset);
const SKEW = MAX_CLOCK_SKEW_MS;
/** Numbers at the edges of what JSON and the bounds let through. */
const extremeNumber = fc.constantFrom(
  0,
  -1,
  1,
  1.5,
  2 ** 31,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  1e308,
  Number.MIN_VALUE,
);
/** A version (µs): recent, just past the skew bound, or extreme. */
const versionArb = fc.oneof(
  { weight: 4, arbitrary: aroundNow(-SKEW, SKEW - 1000).map((ms) => ms * 1000) },
  aroundNow(SKEW + 1000, SKEW + 60_000).map((ms) => ms * 1000),
  extremeNumber,
);
/** A fence (ms): now (the order runs take), just within or past the bound, or extreme. */
const fenceArb = fc.oneof(
  { weight: 6, arbitrary: aroundNow(-1000, 0) },
  aroundNow(SKEW - 60_000, SKEW - 1000),
  aroundNow(SKEW + 1000, SKEW + 60_000),
  extremeNumber,
  fc.constantFrom("1", null, [1], { fence: 1 }),
);
/** A value of another type than the field's, an oversized one, or nothing. */
const retyped = fc.oneof(
  fc.constantFrom(null, true, 0, -1, "", "x", [], {}),
  fc.jsonValue({ maxDepth: 2 }),
);
const oversized = fc.constantFrom(
  "x".repeat(100_000),
  "é".repeat(5000),
  1e308,
  Array.from({ length: 5000 }, () => "a"),
  { nested: "y".repeat(50_000) },
);
type Body = Record<string, unknown>;
/** One field of `body` dropped, retyped or oversized; or `body` as it is. */
const mutate = (body: Body) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(body) },
    fc
      .record({
        field: fc.constantFrom(...Object.keys(body)),
        change: fc.oneof(fc.constant(undefined), retyped, oversized),
      })
      .map(({ field, change }) => {
        const { [field]: _, ...rest } = body;
        return change === undefined ? rest : { ...rest, [field]: change };
      }),
  );

const received = (item: Body) => ({ origin: "fuzz-peer", updatedAt: Date.now(), ...item });
/** One valid item of each kind (a tombstone too), in a domain production does not have. */
const validItems: Body[] = [
  {
    pk: "DOMAIN#fuzz",
    sk: "DOMAIN",
    kind: "domain",
    id: "fuzz",
    running: false,
    data: { description: "", limits: {} },
  },
  {
    pk: "DOMAIN#fuzz",
    sk: "USER#bob",
    kind: "user",
    id: "bob",
    domain: "fuzz",
    data: { passwordHash: "scrypt$fuzz", homeDirectory: "/data/bob", enabled: true, groups: [] },
  },
  {
    pk: "DOMAIN#fuzz",
    sk: "GROUP#g",
    kind: "group",
    id: "g",
    domain: "fuzz",
    data: { description: "" },
  },
  {
    pk: "DOMAIN#fuzz",
    sk: "SERVICE#sftp",
    kind: "service",
    id: "sftp",
    domain: "fuzz",
    data: { protocol: "SFTP", ip: "10.9.9.9", port: 22 },
  },
  { pk: "DOMAIN#fuzz", sk: "USER#gone", kind: "user", id: "gone", domain: "fuzz", deleted: true },
  { pk: "SERVER", sk: "WEB", kind: "web", id: "web", running: false, data: { port: 8443 } },
  {
    pk: "SERVER",
    sk: "TRIGGER#fuzz",
    kind: "trigger",
    id: "fuzz",
    data: {
      event: "Failover Synchronization",
      description: "",
      enabled: false,
      actions: [{ type: "email", to: ["ops@example.com"], subject: "s", body: "" }],
    },
  },
  {
    pk: "SERVER",
    sk: "HEARTBEAT",
    kind: "heartbeat",
    id: "heartbeat",
    data: { intervalSeconds: 60 },
  },
];
/** A valid item, or one with a field of the item or of its data dropped, retyped or oversized. */
const peerItem = fc
  .record({ item: fc.constantFrom(...validItems), version: versionArb })
  .chain(({ item, version }) => {
    const whole = received({ ...item, version });
    const data = item.data as Body | undefined;
    return fc.oneof(
      mutate(whole),
      data ? mutate(data).map((changed) => ({ ...whole, data: changed })) : mutate(whole),
    );
  });
const segmentNumber = fc.oneof(fc.nat({ max: 4 }), extremeNumber);
const cursorArb = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 40 }),
  fc.constant("x".repeat(4097)),
  // Forged: keys of other partitions, of LOCAL, of the wrong type.
  fc
    .constantFrom(
      { pk: "LOCAL", sk: "x" },
      { pk: "SERVER", sk: "WEB" },
      { pk: 1, sk: [] },
      { pk: "DOMAIN#acme" },
    )
    .map((key) => Buffer.from(JSON.stringify(key)).toString("base64url")),
);
const withCursor = (body: Body, cursor: string | undefined) =>
  cursor === undefined ? body : { ...body, cursor };

/** A body as the peer sends it to `path`, possibly with one field broken. */
function peerBody(path: string, origin: fc.Arbitrary<string>): fc.Arbitrary<Body> {
  const run = {
    origin,
    syncId: fc.oneof(fc.uuid(), fc.string({ maxLength: 100 })),
    fence: fenceArb,
  };
  const segment = { segment: segmentNumber, totalSegments: segmentNumber, cursor: cursorArb };
  const shapes: Record<string, fc.Arbitrary<Body>> = {
    "/api/sync/events": fc.record({
      origin,
      changes: fc.array(
        peerItem.map((item) => ({ item })),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    "/api/sync/full/items": fc.record({ ...run, items: fc.array(peerItem, { maxLength: 3 }) }),
    "/api/sync/full/wipe": fc.record({ ...run, ...segment }),
    "/api/sync/full/digest": fc.record({ ...run, ...segment }),
    "/api/sync/full/start": fc.record({ ...run, cursor: cursorArb }),
    "/api/sync/digests": fc.record(segment),
    "/api/sync/records": fc.record({
      pk: fc.constantFrom(
        "SERVER",
        "DOMAIN#acme",
        "DOMAIN#fuzz",
        "LOCAL",
        "",
        "DOMAIN#",
        "x".repeat(300),
      ),
      cursor: cursorArb,
    }),
  };
  const shape = shapes[path];
  if (!shape) throw new Error(`no peer-shaped body for ${path}`);
  return shape
    .map(({ cursor, ...body }) => withCursor(body, cursor as string | undefined))
    .chain(mutate);
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** Automatic sync off: nothing but the requests writes to the table. A stored failover password, so that a leak of it would show. */
const settingsOff = () =>
  new AdminClient(runtime.production.url, runtime.admin).request("PUT", "/api/failover", {
    enabled: false,
    host: "failover.example.com",
    username: "syncer",
    password: FAILOVER_SECRET,
  });

beforeAll(async () => {
  // No heartbeat during the run: its status series point is a write the requests did not make.
  runtime = await startOwnRuntime({ seed: true, heartbeatSeconds: 3600 });
  const production = new AdminClient(runtime.production.url, runtime.admin);
  // The sample data delivered before sync goes off: a batch still in flight then would record
  // its outcome while the requests run.
  await waitFor(async () => {
    const report = await production.request<DriftReport>("GET", "/api/failover/drift");
    const { queued, inFlight } = await runtime.production.services.queue.depths();
    return report.differences + report.pending + queued + inFlight === 0;
  }, 60_000);
  await settingsOff();
  // Made once automatic sync is off, so nothing carries it on while requests run.
  await production.request("PUT", "/api/triggers/hook", {
    event: "Failover Synchronization",
    enabled: false,
    actions: [
      {
        type: "http",
        url: "https://hooks.example.com/",
        headers: { Authorization: { secret: HEADER_SECRET } },
      },
    ],
  });
}, 120_000);

afterAll(async () => {
  console.info(
    `fuzz: ${tried} requests over ${routes.length} routes, ${triedPeer} peer-shaped ones over ${peerRoutes.length} receiving routes`,
  );
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
          const response = await fetch(`${runtime.production.url}${path}${r.suffix ?? ""}`, {
            method,
            headers,
            ...(sendsBody ? { body: r.body } : {}),
          });
          tried++;
          const text = await response.text();
          const where = `${method} ${path}${r.suffix ?? ""} → ${response.status} ${text.slice(0, 300)}`;
          expect(response.status, where).toBeLessThan(500);
          expectNoSecret(text, where);
          // A full sync or a failback it started writes until it ends: before the next request.
          if (response.status === 202) {
            const { syncId, failbackId } = JSON.parse(text) as Record<string, string>;
            if (syncId) await runtime.production.fullSync.wait(syncId);
            if (failbackId) await runtime.production.failback.wait(failbackId);
          }
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

  it("the receiving routes, bodies of the peer's shapes: never 5xx or a secret; what is refused or only read changes nothing", async () => {
    const origin = fc.oneof(
      { weight: 6, arbitrary: fc.constant("fuzz-peer") },
      fc.constantFrom(runtime.production.serverId, "", "x".repeat(300)),
    );
    const request = fc
      .constantFrom(...peerRoutes)
      .chain((route) => peerBody(route.path, origin).map((body) => ({ route, body })));
    const authorization = basic("admin", runtime.admin.password);
    let before = await tableDigest();
    await fc.assert(
      fc.asyncProperty(request, async ({ route, body }) => {
        let after: string | undefined;
        try {
          const response = await fetch(`${runtime.production.url}${route.path}`, {
            method: route.method,
            headers: { authorization, "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          triedPeer++;
          const text = await response.text();
          const where = `${route.method} ${route.path} ${JSON.stringify(body).slice(0, 400)} → ${response.status} ${text.slice(0, 300)}`;
          expect(response.status, where).toBeLessThan(500);
          expectNoSecret(text, where);
          after = await tableDigest();
          const answer = JSON.parse(text) as { results?: { status: string }[] };
          const applied = answer.results?.some((result) => result.status === "applied");
          const reads = ["/api/sync/digests", "/api/sync/records", "/api/sync/full/digest"];
          if (response.status >= 400 || reads.includes(route.path) || applied === false) {
            expect(after, `${where}: the table changed`).toBe(before);
          }
        } finally {
          before = after ?? (await tableDigest());
        }
      }),
      { numRuns: PEER_RUNS_PER_ROUTE * peerRoutes.length },
    );
    expect(triedPeer).toBe(PEER_RUNS_PER_ROUTE * peerRoutes.length);
  });

  it("verify, whatever the failover answers (digests and records at their extremes): a report or a 502, nothing written", async () => {
    const digest = fc.oneof(
      { weight: 3, arbitrary: fc.stringMatching(/^[0-9a-f]{16}$/) },
      fc.constantFrom(
        EMPTY_DIGEST,
        "f".repeat(16),
        "F".repeat(16),
        "",
        "not-hex!",
        "0x1",
        "f".repeat(17),
      ),
      fc.constantFrom("f".repeat(100_000), " 1", "-1", 1, null, {}),
    );
    const partitions = fc.dictionary(
      fc.constantFrom(
        "SERVER",
        "DOMAIN#acme",
        "DOMAIN#fuzz",
        "LOCAL",
        "",
        "__proto__",
        "x".repeat(400),
      ),
      digest,
      { maxKeys: 4 },
    );
    const answers = fc.record({
      digests: fc.oneof(
        { weight: 4, arbitrary: partitions.map((p) => ({ partitions: p })) },
        retyped,
      ),
      records: fc.oneof(
        { weight: 4, arbitrary: fc.array(peerItem, { maxLength: 4 }).map((items) => ({ items })) },
        retyped,
      ),
      cursor: fc.option(fc.constantFrom("next", "", 7), { freq: 8 }),
      // Records of the partition asked for (else of another one).
      samePartition: fc.boolean(),
    });
    const services = runtime.production.services;
    // As the first test left them, the settings may point nowhere: the failover verify reads.
    await settingsOff();
    const target = { ...(await services.failoverSettings.get()), enabled: true };
    const before = await tableDigest();
    await fc.assert(
      fc.asyncProperty(answers, async (answer) => {
        const failover: FullSyncPeer = {
          hello: async () => ({ serverId: "fuzz-failover", protocol: 0, autoSync: false }),
          sendChanges: async () => [],
          // Each segment's first page may point at a second; the second is the last.
          call: async (_method, path, request) => {
            const first = !(request as { cursor?: unknown }).cursor;
            const { pk } = request as { pk?: string };
            const { items } = (answer.records ?? {}) as { items?: unknown };
            const page =
              path === "/api/sync/digests"
                ? answer.digests
                : answer.samePartition && Array.isArray(items)
                  ? { items: items.map((item: Body) => ({ ...item, pk })) }
                  : answer.records;
            if (
              !first ||
              answer.cursor === null ||
              typeof page !== "object" ||
              page === null ||
              Array.isArray(page)
            )
              return page;
            return { ...page, cursor: answer.cursor };
          },
        };
        const outcome = await verify({ ...services, peerFor: () => failover }, target).catch(
          (error: unknown) => error,
        );
        if (outcome instanceof Error) {
          expect(outcome, String(outcome)).toBeInstanceOf(AppError);
          expect(outcome).toMatchObject({
            status: 502,
            message: expect.stringMatching(/^the failover's answer to /),
          });
        } else {
          expect(outcome).toMatchObject({
            differences: expect.any(Number),
            domains: expect.any(Array),
          });
        }
      }),
      { numRuns: VERIFY_RUNS },
    );
    expect(await tableDigest()).toBe(before);
  });
});
