import { describe, expect, it } from "vitest";
import { HistoryService } from "../../shared/history/service.ts";
import { type ConfigItem, childKey } from "../../shared/model/items.ts";
import { HybridClock } from "../../shared/model/version.ts";
import type { ConfigStore, HistoryStore, PageRequest } from "../../shared/ports.ts";

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
