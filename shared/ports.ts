import type { ConfigItem, ItemKey } from "./model/items.ts";
import type { SyncEvent } from "./sync/events.ts";

export interface Page<T> {
  readonly items: T[];
  /** Opaque; pass it back to read the next page. Absent on the last page. */
  readonly cursor?: string;
}

export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string;
}

/** Thrown by a conditional write whose condition no longer holds (another writer won). */
export class WriteConflict extends Error {
  constructor() {
    super("the item changed since it was read");
    this.name = "WriteConflict";
  }
}

/** Where each server keeps its configuration (DynamoDB in both the cloud and local mode). */
export interface ConfigStore {
  /** Strongly consistent read; returns tombstones too. */
  get(key: ItemKey): Promise<ConfigItem | undefined>;
  /** Live (not deleted) items of one partition whose sort key starts with `skPrefix`. */
  list(pk: string, skPrefix: string, page: PageRequest): Promise<Page<ConfigItem>>;
  /** Live domain items, by name. */
  listDomains(page: PageRequest): Promise<Page<ConfigItem>>;
  /**
   * Writes `item` if the stored one is still at `expectedVersion` (absent: must not exist or be
   * a tombstone at that version) and, when given, `requireLive` is a live item; else WriteConflict.
   */
  write(
    item: ConfigItem,
    condition: { readonly expectedVersion: number | undefined; readonly requireLive?: ItemKey },
  ): Promise<void>;
  /** The version rule (R8): writes `item` only over a missing item or a lower version. */
  apply(item: ConfigItem): Promise<boolean>;
  /** The failover module's own state (R3): never replicated. */
  getLocal<T>(name: string): Promise<T | undefined>;
  putLocal<T>(name: string, value: T): Promise<void>;
}

/** Where the failover password lives (Secrets Manager in the cloud, a 0600 file locally). R4. */
export interface SecretStore {
  get(name: string): Promise<string | undefined>;
  put(name: string, value: string): Promise<void>;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Publishes `Failover Synchronization` events (EventBridge in the cloud, the local bus locally). */
export interface EventPublisher {
  publish(event: SyncEvent): Promise<void>;
}
