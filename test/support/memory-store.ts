import { type ConfigItem, hasRunState, type ItemKey, LOCAL_PK } from "../../shared/model/items.ts";
import {
  type ConfigStore,
  type Page,
  type PageRequest,
  WriteConflict,
} from "../../shared/ports.ts";

/** DynamoDB orders string keys by their UTF-8 bytes (not by locale: `B` < `a` < `é`). */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** One page from `start` (the cursor: an offset) of a sorted listing. */
function pageOf(all: ConfigItem[], page: PageRequest): Page<ConfigItem> {
  const start = page.cursor ? Number(page.cursor) : 0;
  const items = all.slice(start, start + page.limit);
  return start + page.limit < all.length
    ? { items, cursor: String(start + page.limit) }
    : { items };
}

/**
 * The ConfigStore contract in memory, for property tests of the sync rules that run
 * thousands of histories. test/integration/config-store-contract.test.ts runs the same cases
 * against it and DynamoDB Local, so it answers as the real store does.
 */
export class MemoryStore implements ConfigStore {
  readonly items = new Map<string, ConfigItem>();
  private readonly local = new Map<string, unknown>();

  private static id(key: ItemKey) {
    return `${key.pk}\u0000${key.sk}`;
  }

  async get(key: ItemKey) {
    return this.items.get(MemoryStore.id(key));
  }

  async list(
    pk: string,
    skPrefix: string,
    page: PageRequest,
    options: { readonly withTombstones?: boolean } = {},
  ): Promise<Page<ConfigItem>> {
    const all = [...this.items.values()]
      .filter(
        (item) =>
          item.pk === pk &&
          item.sk.startsWith(skPrefix) &&
          (options.withTombstones || !item.deleted),
      )
      .sort((a, b) => byteOrder(a.sk, b.sk));
    return pageOf(all, page);
  }

  /** Like the table's sparse domains index: live domains by name. */
  async listDomains(page: PageRequest) {
    const domains = [...this.items.values()]
      .filter((item) => item.kind === "domain" && !item.deleted)
      .sort((a, b) => byteOrder(a.id, b.id));
    return pageOf(domains, page);
  }

  async write(
    item: ConfigItem,
    condition: { expectedVersion: number | undefined; requireLive?: ItemKey },
  ) {
    const current = this.items.get(MemoryStore.id(item));
    if (current?.version !== condition.expectedVersion) throw new WriteConflict();
    if (condition.requireLive) {
      const parent = this.items.get(MemoryStore.id(condition.requireLive));
      if (!parent || parent.deleted) throw new WriteConflict();
    }
    this.items.set(MemoryStore.id(item), item);
  }

  async apply(item: ConfigItem) {
    const current = this.items.get(MemoryStore.id(item));
    if (current && current.version >= item.version) return false;
    if (item.deleted) {
      // A tombstone keeps neither data nor run state.
      const { data: _data, running: _running, ...rest } = item;
      this.items.set(MemoryStore.id(item), rest);
      return true;
    }
    const { running, ...rest } = item;
    // Like DynamoDB's `if_not_exists(running, …)`: a stored run state is kept, else the item's.
    const kept = current?.running ?? running;
    const runState = hasRunState(item.kind) ? { running: kept === true } : {};
    this.items.set(MemoryStore.id(item), { ...rest, ...runState });
    return true;
  }

  async applyBatch(items: readonly ConfigItem[]) {
    const keys = new Set(items.map((item) => MemoryStore.id(item)));
    if (keys.size !== items.length) throw new Error("applyBatch needs distinct keys");
    const results: boolean[] = [];
    for (const item of items) results.push(await this.apply(item));
    return results;
  }

  async setRunState(key: ItemKey, running: boolean) {
    const current = this.items.get(MemoryStore.id(key));
    if (!current || current.deleted) return false;
    this.items.set(MemoryStore.id(key), { ...current, running });
    return true;
  }

  async getLocal<T>(name: string) {
    return this.local.get(`${LOCAL_PK}/${name}`) as T | undefined;
  }

  async putLocal<T>(name: string, value: T) {
    this.local.set(`${LOCAL_PK}/${name}`, value);
  }

  async putLocalIf<T extends { readonly rev: number }>(
    name: string,
    value: T,
    expectedRev: number | undefined,
  ) {
    const current = this.local.get(`${LOCAL_PK}/${name}`) as { rev?: number } | undefined;
    if (current?.rev !== expectedRev) return false;
    this.local.set(`${LOCAL_PK}/${name}`, value);
    return true;
  }

  async listLocal<T>(prefix: string, from: string, limit: number): Promise<T[]> {
    return [...this.local.entries()]
      .filter(([key]) => key.startsWith(`${LOCAL_PK}/${prefix}`) && key >= `${LOCAL_PK}/${from}`)
      .sort(([a], [b]) => byteOrder(b, a))
      .slice(0, limit)
      .map(([, value]) => value as T);
  }

  /** The live replicated items, without sync metadata that legitimately differs. */
  snapshot(): Record<string, unknown> {
    return Object.fromEntries(
      [...this.items.entries()]
        .filter(([, item]) => !item.deleted)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, item]) => [key, item.data]),
    );
  }
}
