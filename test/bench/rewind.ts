import { loadavg } from "node:os";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { AdminClient } from "../../bin/api-client.ts";
import { type LocalRegion, startLocal } from "../../infra/local/runtime.ts";
import { domains } from "../../shared/config/entities.ts";
import { domainPk } from "../../shared/model/items.ts";
import type { FullSyncView } from "../../shared/sync/full/records.ts";
import { waitFor } from "../support/wait.ts";
import { generatedConfiguration } from "./full-sync-data.ts";
import type { CountableClient } from "./measure.ts";
import { machineFacts, saveRun } from "./results.ts";

/**
 * `npm run bench -- rewind` (R26): one domain of 10,000 users (and its 2 groups, 3 services)
 * deleted, then rewound for real — the time until production has it back, and until automatic
 * sync has put it back on the failover — against a full sync copying the same items, timed in
 * the same run on the same DynamoDB Local (goal: rewind ≤ 1.5× the full sync). Also what
 * history costs: write units of the history tables per change, on production (its own
 * changes) and on the failover (the changes sync applied there), as $ per million changes.
 * Appends the run to test/bench/results/rewind.json; `npm run bench:tables` writes the table.
 */
const USERS = 10_000;
const DOMAIN = "rewind-0000";

/** AWS list prices, us-east-1, on-demand, as of 2026 (as partial.ts): $ per unit. */
const PRICE = {
  dynamoWriteUnit: 0.625 / 1e6,
  /** Storage per GB-month; a change is kept for the retention period, then TTL ends it (free). */
  dynamoGbMonth: 0.25,
};
const RETENTION_DAYS = 7;

/** DynamoDB's size of an item (attribute names and values, UTF-8), as its billing counts it. */
function itemBytes(value: unknown): number {
  if (typeof value === "string") return Buffer.byteLength(value);
  if (typeof value === "number") return Math.ceil(String(value).length / 2) + 1;
  if (typeof value === "boolean" || value === null || value === undefined) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + itemBytes(v) + 1, 0);
  return (
    3 +
    Object.entries(value as Record<string, unknown>).reduce(
      (sum, [name, v]) => sum + Buffer.byteLength(name) + itemBytes(v) + 1,
      0,
    )
  );
}

const attributeTypes = new Set(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]);
/** An item as the document client or as the wire has it: plain values either way. */
function plainItem(item: Record<string, unknown>): Record<string, unknown> {
  const marshalled = Object.values(item).every(
    (value) =>
      typeof value === "object" &&
      value !== null &&
      Object.keys(value).length === 1 &&
      attributeTypes.has(Object.keys(value)[0] ?? ""),
  );
  return marshalled ? unmarshall(item as never) : item;
}

/** Write units and bytes of every item written to a history table, by table. */
function historyMeter() {
  const totals = new Map<string, { items: number; writeUnits: number; bytes: number }>();
  return {
    attach(client: CountableClient) {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as {
            RequestItems?: Record<string, { PutRequest?: { Item?: Record<string, unknown> } }[]>;
          };
          if (
            context.commandName === "BatchWriteCommand" ||
            context.commandName === "BatchWriteItemCommand"
          ) {
            for (const [table, requests] of Object.entries(input.RequestItems ?? {})) {
              if (!table.endsWith("-history")) continue;
              const total = totals.get(table) ?? { items: 0, writeUnits: 0, bytes: 0 };
              for (const request of requests) {
                const bytes = itemBytes(plainItem(request.PutRequest?.Item ?? {}));
                total.items += 1;
                total.bytes += bytes;
                total.writeUnits += Math.max(1, Math.ceil(bytes / 1024));
              }
              totals.set(table, total);
            }
          }
          return next(args);
        },
        { step: "initialize", name: "historyMeter" },
      );
    },
    /** What was written so far to the table whose name has `region`'s stored name. */
    of: (table: string) => totals.get(table) ?? { items: 0, writeUnits: 0, bytes: 0 },
    reset: () => totals.clear(),
  };
}

/** How many of the domain's items a region stores live, and as tombstones. */
async function countItems(region: LocalRegion) {
  let live = 0;
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await region.services.store.list(
      domainPk(DOMAIN),
      "",
      { limit: 1000, ...(cursor ? { cursor } : {}) },
      { withTombstones: true },
    );
    for (const item of page.items) {
      if (item.deleted) deleted += 1;
      else live += 1;
    }
    cursor = page.cursor;
  } while (cursor);
  return { live, deleted };
}

export async function rewindBench(): Promise<void> {
  const machine = machineFacts();
  const at = new Date().toISOString();
  const meter = historyMeter();
  const runtime = await startLocal({
    productionPort: 0,
    failoverPort: 0,
    seed: false,
    instrument: (client) => meter.attach(client as unknown as CountableClient),
  });
  try {
    const { production: prod, failover: standby } = runtime;
    const production = new AdminClient(prod.url, runtime.admin);
    const failoverUrl = new URL(standby.url);
    const autoSync = (on: boolean) =>
      production.request("PUT", "/api/failover", {
        enabled: true,
        host: failoverUrl.hostname,
        port: Number(failoverUrl.port),
        useTls: false,
        timeoutMs: 60_000,
        username: runtime.admin.username,
        password: runtime.admin.password,
        autoSync: on,
      });
    await autoSync(false);

    // Setup: the domain written straight into production's table; history keeps each item.
    console.error(`rewind benchmark: a domain of ${USERS} users ...`);
    let items = 0;
    for await (const batch of generatedConfiguration({
      domains: 1,
      users: USERS,
      origin: prod.serverId,
      prefix: "rewind",
    })) {
      await prod.services.bulk.putAll(batch);
      items += batch.length;
    }
    const productionHistory = `mft-primary-history`;
    const failoverHistory = `mft-failover-history`;
    await waitFor(
      () => meter.of(productionHistory).items >= items,
      120_000,
      "history of the setup",
    );
    const created = meter.of(productionHistory);

    // The full sync of the same items onto the (empty) failover: the yardstick.
    let started = performance.now();
    const { syncId } = await production.request<{ syncId: string }>(
      "POST",
      "/api/failover/synchronize",
    );
    await prod.fullSync.wait(syncId);
    const sync = await production.request<FullSyncView>("GET", `/api/failover/syncs/${syncId}`);
    if (sync.state !== "succeeded") throw new Error(`full sync failed: ${sync.reason}`);
    const fullSyncMs = performance.now() - started;
    console.error(
      `  full sync: ${(fullSyncMs / 1000).toFixed(1)} s (${sync.records.copied} records)`,
    );
    await waitFor(
      () => meter.of(failoverHistory).items >= items,
      120_000,
      "the failover's history",
    );
    const applied = meter.of(failoverHistory);

    // The mistake: the domain deleted, on both sides, with automatic sync on.
    await autoSync(true);
    const moment = new Date().toISOString();
    await waitFor(() => Date.now() > Date.parse(moment), 1_000, "the next millisecond");
    meter.reset();
    // Through the service the route calls: the admin API's time limit (30 s locally) is not
    // what this measures, and a cascade of 10,000 deletes can pass it on a loaded machine.
    await prod.services.config.remove(domains, { id: DOMAIN });
    await waitFor(
      async () => (await countItems(standby)).deleted === items,
      300_000,
      "the deletion on the failover",
    );
    const deletes = meter.of(productionHistory);
    // Settled, as before the full sync: the failover's capture has kept the deletion in its
    // history too, so the rewind does not race what the mistake left in flight.
    await waitFor(
      () => meter.of(failoverHistory).items >= items,
      300_000,
      "the deletion in the failover's history",
    );
    // A dry run first, as a user would; it also waits for history to hold the deletion.
    const rewind = (dryRun: boolean) =>
      prod.services.historyService.rewind({ domain: DOMAIN }, Date.parse(moment), dryRun);
    await waitFor(() => rewind(true), 120_000, "history to hold the deletion");
    // What a rewind spends before it writes: reading the domain and its history since T.
    started = performance.now();
    await rewind(true);
    const dryRunMs = performance.now() - started;

    // The rewind, for real (the route's service, as the deletion): production has the domain
    // back when it returns.
    started = performance.now();
    const done = await rewind(false);
    const rewindMs = performance.now() - started;
    const written = "applied" in done ? done.applied : 0;
    if (written !== items) throw new Error(`rewind applied ${written} of ${items}`);
    const onProduction = await countItems(prod);
    if (onProduction.live !== items) throw new Error(`production has ${onProduction.live} back`);
    await waitFor(
      async () => (await countItems(standby)).live === items,
      600_000,
      "the rewound domain on the failover",
    );
    const onFailoverMs = performance.now() - started;
    console.error(
      `  rewind: production ${(rewindMs / 1000).toFixed(1)} s (dry run ${(dryRunMs / 1000).toFixed(1)} s), failover ${(onFailoverMs / 1000).toFixed(1)} s`,
    );

    const perChange = (meter: { items: number; writeUnits: number; bytes: number }) => ({
      writeUnits: Number((meter.writeUnits / meter.items).toFixed(3)),
      bytes: Math.round(meter.bytes / meter.items),
    });
    const history = {
      /** A creation (no item before), on production. */
      created: perChange(created),
      /** The same creations applied on the failover by the full sync. */
      applied: perChange(applied),
      /** A delete: history keeps the whole item before it. */
      deleted: perChange(deletes),
    };
    // A change costs history a write on production and one on the failover; the larger
    // (a change that keeps the item before it) is the one to budget for.
    const writeUnits = 2 * history.deleted.writeUnits;
    const storageGbMonths = ((2 * history.deleted.bytes * 1e6) / 2 ** 30) * (RETENTION_DAYS / 30);
    const dollarsPerMillion = {
      writes: Number((writeUnits * 1e6 * PRICE.dynamoWriteUnit).toFixed(3)),
      storage: Number((storageGbMonths * PRICE.dynamoGbMonth).toFixed(3)),
    };
    const file = await saveRun("rewind", {
      at,
      machine: machine.end(),
      setup: { users: USERS, items, retentionDays: RETENTION_DAYS },
      fullSyncMs: Math.round(fullSyncMs),
      dryRunMs: Math.round(dryRunMs),
      rewindMs: Math.round(rewindMs),
      onFailoverMs: Math.round(onFailoverMs),
      history,
      dollarsPerMillion,
    });
    console.error(`results in ${file}; the docs' tables: npm run bench:tables`);
    console.log(
      `\nrewind of ${items} items: production ${(rewindMs / 1000).toFixed(1)} s, failover ${(onFailoverMs / 1000).toFixed(1)} s; full sync ${(fullSyncMs / 1000).toFixed(1)} s; ratio ${(rewindMs / fullSyncMs).toFixed(2)}× (goal ≤ 1.5×)`,
    );
    console.log(
      `history per change: ${history.deleted.writeUnits} write units (${history.deleted.bytes} B) on each side = $${dollarsPerMillion.writes} per million changes + $${dollarsPerMillion.storage} storage for ${RETENTION_DAYS} days (load average ${loadavg()[0]?.toFixed(2)})`,
    );
  } finally {
    await runtime.stop();
  }
}
