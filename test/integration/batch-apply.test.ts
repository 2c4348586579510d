import { randomUUID } from "node:crypto";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { describe, expect, inject, it } from "vitest";
import { createRequestCounter } from "../../infra/local/request-counter.ts";
import { configTableDefinition } from "../../shared/adapters/config-table.ts";
import {
  DynamoConfigStore,
  type DynamoConfigStoreOptions,
} from "../../shared/adapters/dynamo-config-store.ts";
import type { ConfigItem, ItemKey } from "../../shared/model/items.ts";
import { HybridClock } from "../../shared/model/version.ts";
import { type ApplyResult, applyChange, applyChanges } from "../../shared/sync/apply.ts";
import { MemoryStore } from "../support/memory-store.ts";
import { answer, expectedAnswers, itemOf, type Spec, spec, V } from "../unit/batch-apply-cases.ts";

// A database of its own: DynamoDB Local keeps one per client region.
const client = new DynamoDBClient({
  endpoint: inject("dynamoEndpoint"),
  region: "batchapply",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});
const doc = DynamoDBDocumentClient.from(client);

async function newTable(): Promise<string> {
  const name = `batch-${randomUUID()}`;
  await client.send(new CreateTableCommand(configTableDefinition(name)));
  return name;
}

/** One record as stored, index keys included. */
async function raw(table: string, key: ItemKey) {
  const { Item } = await doc.send(
    new GetCommand({ TableName: table, Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }),
  );
  return Item;
}

/** Every record of a table as stored, index keys included, in key order. */
async function stored(table: string): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    records.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return records.sort((a, b) => `${a.pk}\u0000${a.sk}`.localeCompare(`${b.pk}\u0000${b.sk}`, "en"));
}

const domainKey = (name: string): ItemKey => ({ pk: `DOMAIN#${name}`, sk: "DOMAIN" });
const webKey: ItemKey = { pk: "SERVER", sk: "WEB" };

function group(domain: string, id: string, version: number, deleted = false): ConfigItem {
  return {
    pk: `DOMAIN#${domain}`,
    sk: `GROUP#${id}`,
    kind: "group",
    id,
    domain,
    version: V + version,
    origin: "prod",
    updatedAt: version,
    ...(deleted ? { deleted: true as const } : { data: { description: `v${version}` } }),
  };
}

function domain(name: string, version: number, running: boolean, deleted = false): ConfigItem {
  return {
    ...domainKey(name),
    kind: "domain",
    id: name,
    version: V + version,
    origin: "prod",
    updatedAt: version,
    ...(deleted
      ? { deleted: true as const }
      : { data: { description: `v${version}`, limits: {} }, running }),
  };
}

function web(version: number, running: boolean, deleted = false): ConfigItem {
  return {
    ...webKey,
    kind: "web",
    id: "web",
    version: V + version,
    origin: "prod",
    updatedAt: version,
    ...(deleted ? { deleted: true as const } : { data: { port: 8000 + version }, running }),
  };
}

/** What both stores hold before the batch: items at version 5, some started here (R2). */
async function seed(store: MemoryStore | DynamoConfigStore) {
  for (const item of [
    group("p", "newer", 5),
    group("p", "stale", 5),
    group("p", "equal", 5),
    group("p", "live", 5),
    group("p", "gone", 5, true),
    group("p", "gone2", 5, true),
    domain("p", 5, false),
    domain("q", 5, false, true),
    domain("r", 5, false, true),
    domain("old", 5, false),
    domain("t", 5, true),
    web(5, false),
  ])
    await store.apply(item);
  await store.setRunState(domainKey("p"), true);
  await store.setRunState(webKey, true);
}

/** One item per case, distinct keys (what applyBatch takes). */
const cases: [string, ConfigItem, boolean][] = [
  ["new item", group("p", "new", 6), true],
  ["newer version", group("p", "newer", 7), true],
  ["older version", group("p", "stale", 4), false],
  ["equal version", group("p", "equal", 5), false],
  ["tombstone of a live item", group("p", "live", 6, true), true],
  ["tombstone of a missing item", group("p", "never", 6, true), true],
  ["older tombstone", group("p", "gone", 4, true), false],
  ["put over a tombstone", group("p", "gone2", 6), true],
  ["started domain updated: keeps its run state", domain("p", 6, false), true],
  ["domain put over its tombstone: stopped", domain("q", 6, false), true],
  ["domain put over its tombstone: started", domain("r", 6, true), true],
  ["new domain, started", domain("s", 6, true), true],
  ["older domain", domain("old", 4, true), false],
  ["domain tombstone: leaves the index, loses its run state", domain("t", 6, false, true), true],
  ["enabled web settings updated: stay enabled", web(6, false), true],
];

describe("ConfigStore.applyBatch: DynamoDB and the memory store agree (R2, R8, R13)", () => {
  for (const firstTry of ["insert", "update", "adaptive"] as const) {
    it(`stale, missing, new, tombstone and run-state cases, ${firstTry} first`, async () => {
      const memory = new MemoryStore();
      const table = await newTable();
      const dynamo = new DynamoConfigStore(client, table, { firstTry });
      await seed(memory);
      await seed(dynamo);
      const items = cases.map(([, item]) => item);

      const [fromMemory, fromDynamo] = await Promise.all([
        memory.applyBatch(items),
        dynamo.applyBatch(items),
      ]);
      // The same batch again: a redelivery changes nothing.
      const again = await dynamo.applyBatch(items);

      expect(Object.fromEntries(cases.map(([name], i) => [name, fromDynamo[i]]))).toEqual(
        Object.fromEntries(cases.map(([name, , applied]) => [name, applied])),
      );
      expect(fromDynamo).toEqual(fromMemory);
      expect(again.every((applied) => !applied)).toBe(true);
      for (const [name, item] of cases) {
        const { gsi1pk, gsi1sk, ...record } = (await raw(table, item)) ?? {};
        expect(record, name).toEqual(await memory.get(item));
        const listed = item.kind === "domain" && !item.deleted;
        expect(gsi1pk, name).toBe(listed ? "DOMAIN" : undefined);
        expect(gsi1sk, name).toBe(listed ? item.id : undefined);
      }
      expect((await memory.get(domainKey("p")))?.running).toBe(true);
      expect((await memory.get(domainKey("q")))?.running).toBe(false);
      expect((await memory.get(domainKey("r")))?.running).toBe(true);
      expect((await memory.get(webKey))?.running).toBe(true);
    });
  }

  it("refuses a batch that repeats a key (coalesce first)", async () => {
    const dynamo = new DynamoConfigStore(client, await newTable());
    await expect(dynamo.applyBatch([group("p", "a", 1), group("p", "a", 2)])).rejects.toThrow(
      "distinct keys",
    );
    await expect(
      new MemoryStore().applyBatch([group("p", "a", 1), group("p", "a", 2)]),
    ).rejects.toThrow("distinct keys");
  });
});

/** Applies the changes one by one with `applyChange` (the path before batching). */
async function oneByOne(store: DynamoConfigStore | MemoryStore, changes: { item: ConfigItem }[]) {
  const clock = new HybridClock();
  const results: ApplyResult[] = [];
  for (const change of changes) results.push(await applyChange(store, clock, change));
  return results;
}

describe("applyChanges on DynamoDB = the changes applied one by one (R2, R8, R13)", () => {
  it("a batch mixing new, newer, stale, repeated keys, tombstones, a cascade and run state", async () => {
    const [oneTable, batchTable] = await Promise.all([newTable(), newTable()]);
    const one = new DynamoConfigStore(client, oneTable);
    const batch = new DynamoConfigStore(client, batchTable);
    await Promise.all([seed(one), seed(batch)]);
    const changes = [
      group("p", "new", 6),
      group("p", "newer", 7),
      group("p", "stale", 4),
      group("p", "equal", 5),
      // The same key three times: the newest wins, the others are superseded.
      group("p", "dup", 6),
      group("p", "dup", 8),
      group("p", "dup", 7),
      group("p", "dup", 8),
      // A duplicate delivery of the same change.
      group("p", "newer", 7),
      group("p", "live", 6, true),
      group("p", "gone2", 6),
      domain("p", 6, false),
      web(6, false),
      // Deleted and created again within the batch: a new domain, stopped (R13).
      domain("q", 6, true),
      domain("q", 7, false, true),
      domain("q", 8, false),
      // A domain deleted with its items: its child from before goes with it and an older
      // change of it arriving after the tombstone stays deleted; a newer item lives; an older
      // item new here and arriving after the cascade is written, as one by one would.
      group("t", "child", 4),
      domain("t", 6, false, true),
      group("t", "child", 5),
      group("t", "later", 9),
      group("t", "late", 3),
      // An update leaves an attribute the newer change does not carry as it was.
      { ...domain("u", 6, false), domain: "u" },
      domain("u", 7, false),
      // Rejected on its own (R25): never written.
      { ...group("p", "bad", 6), id: "not valid!" },
    ].map((item) => ({ item }));

    const expected = await oneByOne(one, changes);
    const results = await applyChanges(batch, new HybridClock(), changes);

    expect(await stored(batchTable)).toEqual(await stored(oneTable));
    expect(results.map(answer)).toEqual(expectedAnswers(changes, expected));
    expect(results.map((result) => result.status)).toEqual([
      "applied",
      "applied",
      "stale",
      "stale",
      "stale",
      "applied",
      "stale",
      "stale",
      "stale",
      "applied",
      "applied",
      "applied",
      "applied",
      "stale",
      "stale",
      "applied",
      "stale",
      "applied",
      "stale",
      "applied",
      "applied",
      "stale",
      "applied",
      "rejected",
    ]);
    expect((await batch.get(domainKey("p")))?.running).toBe(true);
    expect((await batch.get(domainKey("q")))?.running).toBe(false);
    expect((await batch.get(webKey))?.running).toBe(true);
    expect((await batch.get(group("t", "child", 5)))?.deleted).toBe(true);
  });

  it("any seed, any batch: the same table and the same answers as one by one", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(spec, { maxLength: 6 }),
        fc.array(fc.tuple(fc.constantFrom<Spec["domain"]>("d1", "d2"), fc.boolean()), {
          maxLength: 2,
        }),
        fc.array(spec, { minLength: 1, maxLength: 14 }),
        fc.constantFrom<DynamoConfigStoreOptions["firstTry"]>("insert", "update"),
        async (seedSpecs, starts, batchSpecs, firstTry) => {
          const [oneTable, batchTable] = await Promise.all([newTable(), newTable()]);
          const stores = [
            new DynamoConfigStore(client, oneTable),
            new DynamoConfigStore(client, batchTable, { firstTry }),
          ];
          for (const store of stores) {
            for (const entry of seedSpecs) await store.apply(itemOf(entry));
            for (const [name, running] of starts) await store.setRunState(domainKey(name), running);
          }
          const changes = batchSpecs.map((entry) => ({ item: itemOf(entry) }));
          const [one, batch] = stores as [DynamoConfigStore, DynamoConfigStore];

          const expected = await oneByOne(one, changes);
          const results = await applyChanges(batch, new HybridClock(), changes);

          expect(await stored(batchTable)).toEqual(await stored(oneTable));
          expect(results.map(answer)).toEqual(expectedAnswers(changes, expected));
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it("writes a batch of new items in one request per 25, reading nothing", async () => {
    const counter = createRequestCounter();
    const counted = new DynamoDBClient({
      endpoint: inject("dynamoEndpoint"),
      region: "batchapply",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    counter.attach(counted);
    const store = new DynamoConfigStore(counted, await newTable(), { firstTry: "insert" });
    const changes = Array.from({ length: 100 }, (_, n) => ({
      item: group(`d${n % 4}`, `g${n}`, 6),
    }));

    const first = await applyChanges(store, new HybridClock(), changes);
    const created = counter.snapshot();
    counter.reset();
    const again = await applyChanges(store, new HybridClock(), changes);
    const redelivered = counter.snapshot();

    expect(first.every((result) => result.status === "applied")).toBe(true);
    expect(created).toEqual({ "DynamoDB.BatchExecuteStatement": 4 });
    // Stale: the INSERTs are refused, then the UPDATEs; still no read.
    expect(again.every((result) => result.status === "stale")).toBe(true);
    expect(redelivered).toEqual({ "DynamoDB.BatchExecuteStatement": 8 });
  });
});
