import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { AdminClient } from "../../bin/api-client.ts";
import { type LocalRegion, type LocalRuntime, startLocal } from "../../infra/local/runtime.ts";
import { type ConfigItem, childKey, type ItemKey } from "../../shared/model/items.ts";
import type { FailoverSettings } from "../../shared/model/schemas.ts";
import { toFailover } from "../../shared/sync/transform.ts";
import { type DriftReport, verifyLimits } from "../../shared/sync/verify.ts";
import { generatedConfiguration } from "./full-sync-data.ts";
import { childSize, inChild, memorySampler, type PhaseMemory } from "./measure.ts";
import { machineFacts, saveRun } from "./results.ts";

/**
 * `npm run bench -- verify`: verify (R21, `GET /api/failover/drift`) of 10,000 and 100,000 users
 * over 100 domains (each with 2 groups and 3 services) held identically by production and the
 * failover, timed next to a baseline measured in the same run on the same DynamoDB Local: full
 * Scans of production's and the failover's tables side by side, at verify's concurrency
 * (verifyLimits: 4 segments each, pages of 1000; ConsistentRead, DocumentClient). Nothing is timed before the regions' stream pollers have read the bulk
 * load back, and both are warmed up untimed first. Verify is timed twice: on identical regions
 * (0 differences) and after 5 items were changed on the failover (exactly those must be
 * reported, or the benchmark fails). Automatic sync is off throughout, so the pipeline forwards
 * nothing. Each size runs in a fresh process, so its peak RSS is its own; at the end of each
 * phase a full GC (`--expose-gc`) shows the heap the process still holds.
 * `MFT_BENCH_VERIFY_SIZES=10000,30000` picks other sizes. Each run is appended to
 * test/bench/results/verify.json (the last three are kept).
 */
const DOMAINS = 100;
/** Production's IP substitution (R14): verify must apply it to compare services. */
const SUBSTITUTION = { ip: "10.0.0.10", substituteIp: "192.168.0.10" } as const;

interface Figures {
  users: number;
  /** Items on each side (production's generated configuration, the failover's copy of it). */
  records: number;
  setupMs: number;
  baselineMs: number;
  /** The baseline again after both verify runs (not in the table: a check of steadiness). */
  baselineAfterMs: number;
  /** Items each Scan of the baseline read (both tables also hold LOCAL and SERVER items). */
  scanned: { production: number; failover: number };
  verifyMs: number;
  verifyDiffMs: number;
  /** `durationMs` as verify itself reported it (without the HTTP hop of the drift call). */
  reportedMs: { verify: number; verifyDiff: number };
  memory: Record<"setup" | "baseline" | "verify" | "verifyDiff", PhaseMemory>;
}

export async function verifyBench(): Promise<void> {
  const sizes = (process.env.MFT_BENCH_VERIFY_SIZES ?? "10000,100000").split(",").map(Number);
  const machine = machineFacts();
  const at = new Date().toISOString();
  const results: Figures[] = [];
  for (const users of sizes) {
    console.error(`verify benchmark: ${users} users over ${DOMAINS} domains ...`);
    results.push(await inChild<Figures>(fileURLToPath(import.meta.url), users));
  }
  const file = await saveRun("verify", {
    at,
    machine: machine.end(),
    setup: {
      domains: DOMAINS,
      segments: verifyLimits.segments,
      pageSize: verifyLimits.pageSize,
      differences: 5,
    },
    sizes: results,
  });
  console.error(`results in ${file}; the docs' tables: npm run bench:tables`);
  console.log(
    `\nverify (GET /api/failover/drift) vs baseline (full Scans of both tables side by side, ${verifyLimits.segments} segments each, Limit ${verifyLimits.pageSize}, ConsistentRead, DocumentClient); goal ≤ 1.5×`,
  );
  console.log(
    "users    items compared  baseline s  verify s (0 / 5 diffs)  ratio (0 / 5 diffs)  peak RSS MB (baseline / verify / verify 5)  heap after GC MB (same)",
  );
  const perPhase = (r: Figures, measure: keyof PhaseMemory) =>
    [r.memory.baseline, r.memory.verify, r.memory.verifyDiff].map((m) => m[measure]).join(" / ");
  for (const r of results) {
    console.log(
      [
        String(r.users).padEnd(8),
        String(r.records).padEnd(15),
        (r.baselineMs / 1000).toFixed(1).padStart(10),
        `${(r.verifyMs / 1000).toFixed(1)} / ${(r.verifyDiffMs / 1000).toFixed(1)}`.padStart(23),
        `${(r.verifyMs / r.baselineMs).toFixed(2)}× / ${(r.verifyDiffMs / r.baselineMs).toFixed(2)}×`.padStart(
          20,
        ),
        `  ${perPhase(r, "peakRssMb").padEnd(41)}`,
        perPhase(r, "heapAfterGcMb"),
      ].join(" "),
    );
  }
  const first = results[0];
  const last = results.at(-1);
  if (first && last && last !== first) {
    const heap = (r: Figures) =>
      Math.max(r.memory.verify.heapAfterGcMb, r.memory.verifyDiff.heapAfterGcMb);
    const rss = (r: Figures) => Math.max(r.memory.verify.peakRssMb, r.memory.verifyDiff.peakRssMb);
    console.log(
      `memory, ${first.users} → ${last.users} users (${(last.records / first.records).toFixed(1)}× the items): verify heap after GC ${heap(first)} → ${heap(last)} MB, peak RSS ${rss(first)} → ${rss(last)} MB`,
    );
  }
}

/**
 * A full Scan of one region's table, page by page, in as many parallel segments as verify's
 * first pass reads; the number of items read.
 */
function scanner(runtime: LocalRuntime, region: LocalRegion) {
  const client = new DynamoDBClient({ ...region.awsConfig, endpoint: runtime.dynamoEndpoint });
  const doc = DynamoDBDocumentClient.from(client);
  const segment = async (Segment: number) => {
    let items = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({
          TableName: region.tableName,
          Segment,
          TotalSegments: verifyLimits.segments,
          Limit: verifyLimits.pageSize,
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items += page.Items?.length ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
  return {
    async scan(): Promise<number> {
      const counts = await Promise.all(
        Array.from({ length: verifyLimits.segments }, (_, index) => segment(index)),
      );
      return counts.reduce((sum, count) => sum + count, 0);
    },
    close: () => client.destroy(),
  };
}

/** Resolves once neither region's capture function has been invoked for 3 s; the time waited. */
async function streamsIdle(runtime: LocalRuntime): Promise<number> {
  const started = Date.now();
  const invocations = () =>
    runtime.production.pipelineStats().captureInvocations +
    runtime.failover.pipelineStats().captureInvocations;
  let last = invocations();
  let quietSince = Date.now();
  while (Date.now() - quietSince < 3000) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = invocations();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
  return Date.now() - started;
}

/** What the 5 changes on the failover must make verify report, per domain. */
interface Expected {
  readonly domain: string;
  readonly missing: string[];
  readonly extra: string[];
  readonly different: { id: string; fields: string[] }[];
}

/**
 * Changes 5 items on the failover, straight in its table: two users' e-mail, one service left on
 * production's (unsubstituted) IP, one user deleted, one user production does not have.
 */
async function driftFailover(runtime: LocalRuntime): Promise<Expected[]> {
  const { store, bulk } = runtime.failover.services;
  const read = async (key: ItemKey) => {
    const item = await store.get(key);
    if (!item || item.deleted) throw new Error(`no ${key.pk} ${key.sk} on the failover`);
    return item;
  };
  const [alice, bob, sftp, carol] = await Promise.all([
    read(childKey("bench-0003", "user", "user000001")),
    read(childKey("bench-0050", "user", "user000002")),
    read(childKey("bench-0050", "service", "sftp")),
    read(childKey("bench-0099", "user", "user000000")),
  ]);
  const withData = (item: ConfigItem, data: Record<string, unknown>): ConfigItem => ({
    ...item,
    data: { ...item.data, ...data },
  });
  await bulk.putAll([
    withData(alice, { email: "changed-on-failover@example.com" }),
    withData(bob, { email: "also-changed@example.com" }),
    withData(sftp, { ip: SUBSTITUTION.ip }),
    {
      ...carol,
      ...childKey("bench-0099", "user", "zz-only-on-failover"),
      id: "zz-only-on-failover",
    },
  ]);
  await bulk.deleteAll([carol]);
  return [
    {
      domain: "bench-0003",
      missing: [],
      extra: [],
      different: [{ id: "user:user000001", fields: ["email"] }],
    },
    {
      domain: "bench-0050",
      missing: [],
      extra: [],
      different: [
        { id: "service:sftp", fields: ["ip"] },
        { id: "user:user000002", fields: ["email"] },
      ],
    },
    {
      domain: "bench-0099",
      missing: ["user:user000000"],
      extra: ["user:zz-only-on-failover"],
      different: [],
    },
  ];
}

/** Fails the benchmark unless the report lists exactly the expected differences. */
function check(report: DriftReport, expected: Expected[], label: string) {
  const count = expected.reduce(
    (sum, e) => sum + e.missing.length + e.extra.length + e.different.length,
    0,
  );
  const normal = (domains: readonly Expected[] | DriftReport["domains"]) =>
    JSON.stringify(
      [...domains]
        .map((d) => ({
          domain: d.domain,
          missing: [...d.missing].sort(),
          extra: [...d.extra].sort(),
          different: [...d.different]
            .map((x) => ({ id: x.id, fields: [...x.fields].sort() }))
            .sort((a, b) => (a.id < b.id ? -1 : 1)),
        }))
        .sort((a, b) => ((a.domain ?? "") < (b.domain ?? "") ? -1 : 1)),
    );
  if (
    report.differences !== count ||
    report.truncated ||
    normal(report.domains) !== normal(expected)
  ) {
    throw new Error(
      `verify (${label}) reported ${report.differences} differences, expected ${count}: ${JSON.stringify(report.domains)}`,
    );
  }
}

async function child(users: number): Promise<void> {
  const runtime = await startLocal({ productionPort: 0, failoverPort: 0, seed: false });
  const memory = memorySampler();
  const scanners = [
    scanner(runtime, runtime.production),
    scanner(runtime, runtime.failover),
  ] as const;
  try {
    const production = new AdminClient(runtime.production.url, runtime.admin);
    // Automatic sync off before the bulk load, so the pipeline does not forward it; the rest of
    // the runtime's settings (host, port, username; the stored password) kept.
    const { passwordSet: _, ...current } = await production.request<
      FailoverSettings & { passwordSet: boolean }
    >("GET", "/api/failover");
    await production.request("PUT", "/api/failover", {
      ...current,
      enabled: true,
      autoSync: false,
      ipSubstitutions: [SUBSTITUTION],
    });
    const settings = await runtime.production.services.failoverSettings.get();
    if (settings.autoSync || !settings.enabled) throw new Error("failover settings not applied");

    // Both regions hold the same configuration: production's items, and on the failover what a
    // full sync would have written (IP substitution, run state as startAfterSync).
    let started = Date.now();
    let records = 0;
    for await (const batch of generatedConfiguration({
      domains: DOMAINS,
      users,
      origin: runtime.production.serverId,
    })) {
      await Promise.all([
        runtime.production.services.bulk.putAll(batch),
        runtime.failover.services.bulk.putAll(batch.map((item) => toFailover(item, settings))),
      ]);
      records += batch.length;
    }
    const setupMs = Date.now() - started;
    const setupMemory = memory.phase();
    console.error(`  setup: ${records} records on each side in ${(setupMs / 1000).toFixed(1)} s`);

    // Each region's stream pollers read the bulk load back (capture, trigger rules); nothing is
    // timed until they are done, or the first phase would share DynamoDB Local with them.
    const idleMs = await streamsIdle(runtime);
    console.error(`  (stream pollers idle after ${(idleMs / 1000).toFixed(1)} s)`);
    memory.phase();

    const drift = async (expected: Expected[], label: string) => {
      const at = Date.now();
      const report = await production.request<DriftReport>("GET", "/api/failover/drift");
      const ms = Date.now() - at;
      check(report, expected, label);
      console.error(
        `  verify (${label}): ${(ms / 1000).toFixed(1)} s (reported ${report.durationMs} ms), ${report.differences} differences`,
      );
      return { ms, reported: report.durationMs };
    };
    const scanBoth = () => Promise.all(scanners.map((s) => s.scan()));
    // Untimed warm-up of both code paths (DynamoDB Local's JIT: Scan; Query, HTTP and the
    // failover's route): a full baseline and a full verify, which must find no difference.
    await scanBoth();
    await drift([], "warm-up, identical");
    memory.phase();

    // Baseline: both tables read whole, side by side.
    started = Date.now();
    const [scannedProduction = 0, scannedFailover = 0] = await scanBoth();
    const baselineMs = Date.now() - started;
    const baselineMemory = memory.phase();
    if (scannedProduction < records || scannedFailover < records)
      throw new Error(`baseline scanned ${scannedProduction} / ${scannedFailover} of ${records}`);
    console.error(`  baseline: ${(baselineMs / 1000).toFixed(1)} s`);

    const identical = await drift([], "identical");
    const verifyMemory = memory.phase();
    const expected = await driftFailover(runtime);
    memory.phase(); // not reported: only resets the peak before the second verify
    const changed = await drift(expected, "5 changed on the failover");
    const verifyDiffMemory = memory.phase();

    // The baseline once more, after verify: how steady DynamoDB Local was over the run.
    started = Date.now();
    await scanBoth();
    const baselineAfterMs = Date.now() - started;
    console.error(`  baseline again: ${(baselineAfterMs / 1000).toFixed(1)} s`);

    const figures: Figures = {
      users,
      records,
      setupMs,
      baselineMs,
      baselineAfterMs,
      scanned: { production: scannedProduction, failover: scannedFailover },
      verifyMs: identical.ms,
      verifyDiffMs: changed.ms,
      reportedMs: { verify: identical.reported, verifyDiff: changed.reported },
      memory: {
        setup: setupMemory,
        baseline: baselineMemory,
        verify: verifyMemory,
        verifyDiff: verifyDiffMemory,
      },
    };
    console.error(JSON.stringify(figures));
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    memory.stop();
    for (const s of scanners) s.close();
    await runtime.stop();
  }
}

const size = childSize(fileURLToPath(import.meta.url));
if (size !== undefined) await child(size);
