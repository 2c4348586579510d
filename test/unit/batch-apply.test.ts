import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ConfigItem } from "../../shared/model/items.ts";
import { HybridClock } from "../../shared/model/version.ts";
import { type ApplyResult, applyChange, applyChanges } from "../../shared/sync/apply.ts";
import { MemoryStore } from "../support/memory-store.ts";
import { answer, expectedAnswers, itemOf, spec, V } from "./batch-apply-cases.ts";

/** The same stored items (tombstones, versions, run state) in both stores. */
async function seeded(seed: readonly ConfigItem[], starts: readonly ["d1" | "d2", boolean][]) {
  const store = new MemoryStore();
  for (const item of seed) await store.apply(item);
  for (const [domain, running] of starts)
    await store.setRunState({ pk: `DOMAIN#${domain}`, sk: "DOMAIN" }, running);
  return store;
}

/** A change of group `a` in domain `d1`, as the property's generator makes them. */
const g = {
  slot: "group",
  domain: "d1",
  child: "a",
  running: false,
  description: "x",
  domainAttribute: false,
  dataOnTombstone: false,
  invalid: false,
} as const;

describe("a batch applied at once = the changes applied one by one (R2, R8, R13)", () => {
  it("any seed, any batch: same stored items, same answers but for superseded changes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(spec, { maxLength: 8 }),
        fc.array(fc.tuple(fc.constantFrom<"d1" | "d2">("d1", "d2"), fc.boolean()), {
          maxLength: 2,
        }),
        fc.array(
          spec.chain((base) =>
            fc.record({ dataOnTombstone: fc.boolean(), invalid: fc.boolean() }).map((extra) => ({
              ...base,
              dataOnTombstone: base.deleted && extra.dataOnTombstone,
              invalid: extra.invalid && base.version % 5 === 0,
            })),
          ),
          { minLength: 1, maxLength: 16 },
        ),
        async (seed, starts, batch) => {
          const changes = batch.map((entry) => ({ item: itemOf(entry) }));
          const seedItems = seed.map((entry) => itemOf(entry));
          const one = await seeded(seedItems, starts);
          const oneByOne: ApplyResult[] = [];
          const clock = new HybridClock(() => 1_000);
          for (const change of changes) oneByOne.push(await applyChange(one, clock, change));

          const many = await seeded(seedItems, starts);
          const together = await applyChanges(many, new HybridClock(() => 1_000), changes);

          expect([...many.items.entries()].sort()).toEqual([...one.items.entries()].sort());
          expect(together.map(answer)).toEqual(expectedAnswers(changes, oneByOne));
        },
      ),
      {
        numRuns: 2_000,
        examples: [
          // Found by this property: a domain tombstone cascaded before a child of its own version
          // that came earlier in the batch, deleting it (one by one, the child survives the tie).
          [
            [{ ...g, version: 1, deleted: false }],
            [],
            [
              { ...g, version: 1, deleted: true },
              { ...g, version: 11, deleted: false },
              { ...g, slot: "domain", version: 11, deleted: true },
              { ...g, slot: "domain", version: 1, deleted: false },
            ],
          ],
        ],
      },
    );
  });

  it("writes each key once in the common case, and answers a superseded change with the newest's time", async () => {
    const store = new MemoryStore();
    const writes: number[] = [];
    const batchOf = store.applyBatch.bind(store);
    store.applyBatch = async (items) => {
      writes.push(items.length);
      return batchOf(items);
    };
    let time = Date.now();
    const group = (version: number, description: string) =>
      itemOf({
        slot: "group",
        domain: "d1",
        child: "a",
        version,
        deleted: false,
        running: false,
        description,
        domainAttribute: false,
        dataOnTombstone: false,
        invalid: false,
      });
    const changes = [group(1, "x"), group(3, "y"), group(2, "x"), group(3, "y")].map((item) => ({
      item,
    }));

    const results = await applyChanges(store, new HybridClock(), changes, () => time++);

    expect(writes).toEqual([1]);
    expect(results.map((result) => result.status)).toEqual(["stale", "applied", "stale", "stale"]);
    const newestAt = results[1]?.appliedAt;
    expect(results.map((result) => result.appliedAt)).toEqual([
      newestAt,
      newestAt,
      newestAt,
      newestAt,
    ]);
    expect((await store.get(group(3, "y")))?.version).toBe(V + 3);
  });
});
