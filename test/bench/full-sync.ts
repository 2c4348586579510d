import { fileURLToPath } from "node:url";
import { AdminClient } from "../../bin/api-client.ts";
import { startLocal } from "../../infra/local/runtime.ts";
import { type ConfigItem, isReplicated } from "../../shared/model/items.ts";
import type { StoredRecord } from "../../shared/ports.ts";
import type { FullSyncView } from "../../shared/sync/full/records.ts";
import { fullSyncLimits } from "../../shared/sync/full/tasks.ts";
import { generatedConfiguration } from "./full-sync-data.ts";
import { childSize, inChild, memorySampler, type PhaseMemory } from "./measure.ts";
import { machineFacts, saveRun } from "./results.ts";

/**
 * `npm run bench -- full`: a full sync of 10,000 and 100,000 users over 100 domains (each with
 * 2 groups and 3 services), timed next to a baseline measured in the same run on the same
 * DynamoDB Local: a plain parallel Scan of production (each segment reading its next page while it
 * writes the current one, as the copy does) + BatchWriteItem into the failover's (emptied) table, at
 * the same concurrency (segments, page size, batches in flight). Each size runs in a fresh
 * process, so its peak RSS is its own. `MFT_BENCH_FULL_SIZES=10000,30000` picks other sizes.
 * Each run is appended to test/bench/results/full-sync.json (the last three are kept).
 */
const DOMAINS = 100;

/** `--max-old-space-size` when NODE_OPTIONS caps the heap (a run that shows memory is flat). */
const heapCapMb = () =>
  Number(/--max-old-space-size=(\d+)/.exec(process.env.NODE_OPTIONS ?? "")?.[1]) || null;

interface Figures {
  users: number;
  records: number;
  setupMs: number;
  baselineMs: number;
  fullSyncMs: number;
  resyncMs: number;
  memory: Record<"setup" | "baseline" | "fullSync" | "resync", PhaseMemory>;
}

export async function full(): Promise<void> {
  const sizes = (process.env.MFT_BENCH_FULL_SIZES ?? "10000,100000").split(",").map(Number);
  const machine = machineFacts();
  const at = new Date().toISOString();
  const results: Figures[] = [];
  for (const users of sizes) {
    console.error(`full sync benchmark: ${users} users over ${DOMAINS} domains ...`);
    results.push(await inChild<Figures>(fileURLToPath(import.meta.url), users));
  }
  const file = await saveRun("full-sync", {
    at,
    machine: machine.end(),
    setup: {
      domains: DOMAINS,
      segments: fullSyncLimits.segments,
      pageSize: fullSyncLimits.pageSize,
      baseline: "parallel Scan (next page read ahead) + BatchWriteItem",
      heapCapMb: heapCapMb(),
    },
    sizes: results,
  });
  console.error(`results in ${file}; the docs' tables: npm run bench:tables`);
  console.log(
    `\nfull sync (segments=${fullSyncLimits.segments}, page=${fullSyncLimits.pageSize}) vs baseline (parallel Scan + BatchWriteItem, same concurrency)`,
  );
  console.log(
    "users    records  baseline s  full sync s  ratio  re-sync s (wipe+copy)  peak RSS MB (baseline / full sync / re-sync)  heap after GC MB (same)",
  );
  const perPhase = (r: Figures, measure: keyof PhaseMemory) =>
    [r.memory.baseline, r.memory.fullSync, r.memory.resync].map((m) => m[measure]).join(" / ");
  for (const r of results) {
    console.log(
      [
        String(r.users).padEnd(8),
        String(r.records).padEnd(8),
        (r.baselineMs / 1000).toFixed(1).padStart(10),
        (r.fullSyncMs / 1000).toFixed(1).padStart(12),
        `${(r.fullSyncMs / r.baselineMs).toFixed(2)}×`.padStart(6),
        (r.resyncMs / 1000).toFixed(1).padStart(22),
        `  ${perPhase(r, "peakRssMb").padEnd(43)}`,
        perPhase(r, "heapAfterGcMb"),
      ].join(" "),
    );
  }
}

async function child(users: number): Promise<void> {
  const runtime = await startLocal({ productionPort: 0, failoverPort: 0, seed: false });
  const memory = memorySampler();
  try {
    const production = new AdminClient(runtime.production.url, runtime.admin);
    const url = new URL(runtime.failover.url);
    await production.request("PUT", "/api/failover", {
      enabled: true,
      host: url.hostname,
      port: Number(url.port),
      useTls: false,
      timeoutMs: 60_000,
      username: runtime.admin.username,
      password: runtime.admin.password,
      autoSync: false,
      ipSubstitutions: [{ ip: "10.0.0.10", substituteIp: "192.168.0.10" }],
    });

    let started = Date.now();
    let records = 0;
    for await (const batch of generatedConfiguration({
      domains: DOMAINS,
      users,
      origin: runtime.production.serverId,
    })) {
      await runtime.production.services.bulk.putAll(batch);
      records += batch.length;
    }
    const setupMs = Date.now() - started;
    const setupMemory = memory.phase();
    console.error(`  setup: ${records} records in ${(setupMs / 1000).toFixed(1)} s`);

    // Baseline: the same records, plain Scan + BatchWriteItem into the failover's own table
    // (same stream, same pollers), same segments, page size and batches in flight — and, like
    // the full sync's copy (copySegment), each segment reads its next page while it writes the
    // current one, so the ratio compares the same overlap of reads and writes.
    const source = runtime.production.services.bulk;
    const target = runtime.failover.services.bulk;
    const copyAll = (from: typeof source, write: (page: StoredRecord[]) => Promise<void>) =>
      Promise.all(
        Array.from({ length: fullSyncLimits.segments }, async (_, segment) => {
          const read = (cursor: string | undefined) =>
            from.scan(segment, fullSyncLimits.segments, {
              limit: fullSyncLimits.pageSize,
              ...(cursor ? { cursor } : {}),
            });
          let next: ReturnType<typeof read> | undefined = read(undefined);
          while (next) {
            const page: Awaited<ReturnType<typeof read>> = await next;
            next = page.cursor ? read(page.cursor) : undefined;
            // A read ahead that fails while the write fails is not news: the write's error is.
            next?.catch(() => undefined);
            await write(page.items.filter(isReplicated));
          }
        }),
      );
    started = Date.now();
    await copyAll(source, (page) => target.putAll(page as unknown as ConfigItem[]));
    const baselineMs = Date.now() - started;
    const baselineMemory = memory.phase();
    console.error(`  baseline: ${(baselineMs / 1000).toFixed(1)} s`);
    // Empty the failover again (not timed): the first full sync copies onto an empty failover.
    const emptying = Date.now();
    await copyAll(target, (page) => target.deleteAll(page));
    console.error(`  (failover emptied in ${((Date.now() - emptying) / 1000).toFixed(1)} s)`);

    const run = async () => {
      const at = Date.now();
      const { syncId } = await production.request<{ syncId: string }>(
        "POST",
        "/api/failover/synchronize",
      );
      await runtime.production.fullSync.wait(syncId);
      const view = await production.request<FullSyncView>("GET", `/api/failover/syncs/${syncId}`);
      if (view.state !== "succeeded") throw new Error(`full sync failed: ${view.reason}`);
      if (view.records.copied !== records)
        throw new Error(`copied ${view.records.copied} of ${records} records`);
      return Date.now() - at;
    };
    const fullSyncMs = await run();
    const fullSyncMemory = memory.phase();
    console.error(`  full sync: ${(fullSyncMs / 1000).toFixed(1)} s`);
    // Again, now that the failover holds everything: the wipe has work to do too.
    const resyncMs = await run();
    const resyncMemory = memory.phase();

    const figures: Figures = {
      users,
      records,
      setupMs,
      baselineMs,
      fullSyncMs,
      resyncMs,
      memory: {
        setup: setupMemory,
        baseline: baselineMemory,
        fullSync: fullSyncMemory,
        resync: resyncMemory,
      },
    };
    console.error(JSON.stringify(figures));
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    memory.stop();
    await runtime.stop();
  }
}

const size = childSize(fileURLToPath(import.meta.url));
if (size !== undefined) await child(size);
