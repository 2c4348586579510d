import { randomUUID } from "node:crypto";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { configTableDefinition } from "../../shared/adapters/config-table.ts";
import { DynamoConfigStore } from "../../shared/adapters/dynamo-config-store.ts";
import {
  type ConfigItem,
  childKey,
  childPrefix,
  domainKey,
  tombstone,
} from "../../shared/model/items.ts";
import { type ConfigStore, WriteConflict } from "../../shared/ports.ts";
import { MemoryStore } from "../support/memory-store.ts";

// The ConfigStore contract, run against the in-memory store the property tests use and against
// DynamoDB Local (the real adapter): the same cases must give the same answers, so what the
// property tests prove with MemoryStore holds for DynamoDB. Expected values are written out.

/** Names whose orders differ: DynamoDB sorts keys by their UTF-8 bytes, not by locale. */
const NAMES = ["b", "B", "a", "Z", "é", "a-1", "a_1", "A"];
/** The same names in UTF-8 byte order (uppercase before lowercase, é last). */
const BYTE_ORDER = ["A", "B", "Z", "a", "a-1", "a_1", "b", "é"];

const domain = (id: string, version = 1_000): ConfigItem => ({
  ...domainKey(id),
  kind: "domain",
  id,
  domain: id,
  version,
  origin: "prod",
  updatedAt: 1,
  data: { description: id },
  running: false,
});

const user = (domainId: string, id: string, version = 1_000): ConfigItem => ({
  ...childKey(domainId, "user", id),
  kind: "user",
  id,
  domain: domainId,
  version,
  origin: "prod",
  updatedAt: 1,
  data: { homeDirectory: `/data/${id}` },
});

async function dynamoStore(): Promise<ConfigStore> {
  const client = new DynamoDBClient({
    region: "contract",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    endpoint: inject("dynamoEndpoint"),
  });
  const tableName = `contract-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateTableCommand(configTableDefinition(tableName)));
  return new DynamoConfigStore(client, tableName);
}

/** Every page of a listing, each at most `limit` long. */
async function allPages(
  read: (cursor: string | undefined) => ReturnType<ConfigStore["list"]>,
  limit: number,
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await read(cursor);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.items.map((item) => item.id));
    cursor = page.cursor;
    pages += 1;
  } while (cursor && pages < 100);
  return ids;
}

describe.each([
  ["MemoryStore", async () => new MemoryStore() as ConfigStore],
  ["DynamoDB Local", dynamoStore],
])("ConfigStore contract: %s", (_name, create) => {
  let store: ConfigStore;
  const prefix = randomUUID().slice(0, 6);
  beforeAll(async () => {
    store = await create();
  });

  it("lists a partition's live items in key byte order, page by page with the cursor", async () => {
    const d = `${prefix}-list`;
    await store.write(domain(d), { expectedVersion: undefined });
    for (const name of NAMES) await store.write(user(d, name), { expectedVersion: undefined });
    await store.apply(tombstone(user(d, "b"), 2_000, "prod", 2));

    const expected = BYTE_ORDER.filter((name) => name !== "b");
    for (const limit of [1, 3, 100]) {
      expect(
        await allPages(
          (cursor) =>
            store.list(domainKey(d).pk, childPrefix("user"), {
              limit,
              ...(cursor ? { cursor } : {}),
            }),
          limit,
        ),
      ).toEqual(expected);
    }
  });

  it("lists live domains by name in byte order, page by page with the cursor", async () => {
    const ids = NAMES.map((name) => `${prefix}~${name}`);
    for (const id of ids) await store.write(domain(id), { expectedVersion: undefined });
    await store.apply(tombstone(domain(`${prefix}~Z`), 2_000, "prod", 2));

    const expected = BYTE_ORDER.filter((name) => name !== "Z").map((name) => `${prefix}~${name}`);
    for (const limit of [2, 100]) {
      const listed = await allPages(
        (cursor) => store.listDomains({ limit, ...(cursor ? { cursor } : {}) }),
        limit,
      );
      expect(listed.filter((id) => id.startsWith(`${prefix}~`))).toEqual(expected);
    }
  });

  it("writes conditionally on the version read; a tombstone counts as existing", async () => {
    const d = `${prefix}-write`;
    await store.write(domain(d), { expectedVersion: undefined });
    await expect(store.write(domain(d, 2_000), { expectedVersion: undefined })).rejects.toThrow(
      WriteConflict,
    );
    await expect(store.write(domain(d, 2_000), { expectedVersion: 999 })).rejects.toThrow(
      WriteConflict,
    );
    await store.write(domain(d, 2_000), { expectedVersion: 1_000 });
    expect((await store.get(domainKey(d)))?.version).toBe(2_000);

    await store.write(tombstone(domain(d), 3_000, "prod", 3), { expectedVersion: 2_000 });
    expect(await store.get(domainKey(d))).toMatchObject({ version: 3_000, deleted: true });
    await expect(store.write(domain(d, 4_000), { expectedVersion: undefined })).rejects.toThrow(
      WriteConflict,
    );
    await store.write(domain(d, 4_000), { expectedVersion: 3_000 });
  });

  it("writes a child only while its parent is live (requireLive)", async () => {
    const d = `${prefix}-parent`;
    await expect(
      store.write(user(d, "u"), { expectedVersion: undefined, requireLive: domainKey(d) }),
    ).rejects.toThrow(WriteConflict);
    await store.write(domain(d), { expectedVersion: undefined });
    await store.write(user(d, "u"), { expectedVersion: undefined, requireLive: domainKey(d) });
    await store.apply(tombstone(domain(d), 2_000, "prod", 2));
    await expect(
      store.write(user(d, "v"), { expectedVersion: undefined, requireLive: domainKey(d) }),
    ).rejects.toThrow(WriteConflict);
    expect(await store.get(childKey(d, "user", "v"))).toBeUndefined();
  });

  it("applies only over a missing item or a lower version, keeping the stored run state", async () => {
    const d = `${prefix}-apply`;
    expect(await store.apply({ ...domain(d, 2_000), running: true })).toBe(true);
    expect(await store.apply(domain(d, 2_000))).toBe(false);
    expect(await store.apply(domain(d, 1_500))).toBe(false);
    expect(await store.apply({ ...domain(d, 3_000), running: false })).toBe(true);
    expect(await store.get(domainKey(d))).toMatchObject({ version: 3_000, running: true });
    expect(await store.setRunState(domainKey(d), false)).toBe(true);
    expect(await store.apply(tombstone(domain(d), 4_000, "prod", 4))).toBe(true);
    const gone = await store.get(domainKey(d));
    expect(gone).toMatchObject({ version: 4_000, deleted: true });
    expect(gone).not.toHaveProperty("data");
    expect(gone).not.toHaveProperty("running");
    expect(await store.setRunState(domainKey(d), true)).toBe(false);
    expect(await store.apply(domain(d, 3_500))).toBe(false);
  });

  it("applyBatch answers per item, in order", async () => {
    const d = `${prefix}-batch`;
    await store.apply(domain(d, 2_000));
    expect(
      await store.applyBatch([domain(d, 1_000), user(d, "x", 1_000), user(d, "y", 1_000)]),
    ).toEqual([false, true, true]);
  });

  it("local values: compare-and-set on rev, and listing newest name first from a bound", async () => {
    const name = `${prefix}/cas`;
    expect(await store.putLocalIf(name, { rev: 1, v: "a" }, 1)).toBe(false);
    expect(await store.putLocalIf(name, { rev: 1, v: "a" }, undefined)).toBe(true);
    expect(await store.putLocalIf(name, { rev: 2, v: "b" }, undefined)).toBe(false);
    expect(await store.putLocalIf(name, { rev: 2, v: "b" }, 0)).toBe(false);
    expect(await store.putLocalIf(name, { rev: 2, v: "b" }, 1)).toBe(true);
    expect(await store.getLocal(name)).toEqual({ rev: 2, v: "b" });
    // A value written without a rev counts as none for the first compare-and-set.
    await store.putLocal(`${prefix}/plain`, { v: 1 });
    expect(await store.putLocalIf(`${prefix}/plain`, { rev: 1 }, undefined)).toBe(true);

    const log = `${prefix}/log#`;
    for (const at of ["2026-01-01", "2026-01-03", "2026-01-02", "2026-01-04"]) {
      await store.putLocal(`${log}${at}`, at);
    }
    await store.putLocal(`${prefix}/other#2026-01-05`, "other");
    expect(await store.listLocal(log, `${log}2026-01-02`, 10)).toEqual([
      "2026-01-04",
      "2026-01-03",
      "2026-01-02",
    ]);
    expect(await store.listLocal(log, log, 2)).toEqual(["2026-01-04", "2026-01-03"]);
  });
});
