import { describe, expect, it } from "vitest";
import { type HistoryChange, historyChangeOf } from "../../shared/history/change.ts";
import { HistoryService } from "../../shared/history/service.ts";
import { type ConfigItem, childKey, tombstone } from "../../shared/model/items.ts";
import { HybridClock } from "../../shared/model/version.ts";
import type { ConfigStore, HistoryStore, PageRequest } from "../../shared/ports.ts";
import { MemoryStore } from "../support/memory-store.ts";

/** A domain of `count` users, all made long before the moment looked at. */
function largeDomain(count: number): ConfigItem[] {
  return Array.from({ length: count }, (_, index) => ({
    ...childKey("big", "user", `u${String(index).padStart(6, "0")}`),
    kind: "user" as const,
    id: `u${index}`,
    domain: "big",
    version: 1_000_000 + index,
    origin: "prod",
    updatedAt: 1_000,
    data: { homeDirectory: "/h" },
  }));
}

/** The store's listing of those items, page by page (the only reads a dry run makes). */
function storeOf(items: readonly ConfigItem[]): ConfigStore {
  return {
    async list(_pk: string, _prefix: string, page: PageRequest) {
      const from = Number(page.cursor ?? 0);
      const next = from + page.limit;
      return {
        items: items.slice(from, next),
        ...(next < items.length ? { cursor: String(next) } : {}),
      };
    },
  } as unknown as ConfigStore;
}

const noHistory: HistoryStore = {
  record: async () => {},
  list: async () => ({ items: [] }),
};

describe("HistoryService (R26)", () => {
  it("rewinds a domain of 150,000 items: no limit but the store's on how many it holds", async () => {
    const now = Date.now();
    const service = new HistoryService({
      store: storeOf(largeDomain(150_000)),
      history: noHistory,
      clock: new HybridClock(() => now),
      serverId: "prod",
      historyDays: 7,
      now: () => now,
    });

    const answer = await service.rewind({ domain: "big" }, now - 1_000, true);

    expect(answer).toMatchObject({ dryRun: true, added: [], removed: [], changed: [] });
  });
});

describe("a rewind bounded by its answer's deadline (R26, the admin API's 29 s)", () => {
  it("writes nothing past the deadline, says how much is left, and run again goes on", async () => {
    const now = Date.now();
    const store = new MemoryStore();
    // Made a minute ago; at T, half a minute ago, the domain had its 600 users; since, they were
    // deleted (tombstones), and history holds each deletion with the user as it was.
    const madeAt = (now - 60_000) * 1000;
    const users = largeDomain(600).map((user, index) => ({ ...user, version: madeAt + index }));
    const deleted = users.map((user) => tombstone(user, (now - 10_000) * 1000, "prod", now));
    await store.applyBatch(deleted);
    const changes: HistoryChange[] = deleted.map((item, index) => {
      const change = historyChangeOf(item, users[index]);
      if (!change) throw new Error("a deletion is a change");
      return change;
    });
    const history: HistoryStore = {
      record: async () => {},
      list: async () => ({ items: changes }),
    };
    const at = now - 30_000;
    const service = new HistoryService({
      store,
      history,
      clock: new HybridClock(() => now),
      serverId: "prod",
      historyDays: 7,
      now: () => now,
    });

    const late = await service.rewind({ domain: "big" }, at, false, Date.now() - 1);
    expect(late).toMatchObject({ applied: 0, remaining: 600 });
    expect((await store.list("DOMAIN#big", "", { limit: 1000 })).items).toEqual([]);

    const done = await service.rewind({ domain: "big" }, at, false);
    expect(done).toMatchObject({ applied: 600, remaining: 0, skipped: [] });
    expect((await store.list("DOMAIN#big", "", { limit: 1000 })).items).toHaveLength(600);
  });
});

describe("a look while history is behind the table (R26)", () => {
  it("waits for history to hold the latest change, then answers 503 history_behind naming the item", async () => {
    const now = Date.now();
    const store = new MemoryStore();
    // Changed a second ago; history (which follows the stream) has not recorded it yet.
    const [user] = largeDomain(1).map((item) => ({ ...item, version: (now - 1_000) * 1000 }));
    if (!user) throw new Error("one user");
    await store.applyBatch([user]);
    let looks = 0;
    const service = new HistoryService({
      store,
      history: {
        record: async () => {},
        list: async () => {
          looks += 1;
          return { items: [] };
        },
      },
      clock: new HybridClock(() => now),
      serverId: "prod",
      historyDays: 7,
      now: () => now,
      catchUpMs: 300,
    });

    const error = await service.domainSnapshot("big", now - 60_000).catch((e: unknown) => e);

    expect(error).toMatchObject({ status: 503, code: "history_behind" });
    expect(String((error as Error).message)).toContain("user:u0");
    expect(looks).toBeGreaterThan(1);
  });
});
