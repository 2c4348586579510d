import type { HistoryChange } from "./history/change.ts";
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
  /**
   * Live (not deleted) items of one partition whose sort key starts with `skPrefix`; tombstones
   * too with `withTombstones` (verify compares both sides' versions, R21).
   */
  list(
    pk: string,
    skPrefix: string,
    page: PageRequest,
    options?: { readonly withTombstones?: boolean },
  ): Promise<Page<ConfigItem>>;
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
  /**
   * The version rule (R8): writes `item` only over a missing item or a lower version. A live
   * stored item keeps its own run state (R2, R13); a new one takes the item's.
   */
  apply(item: ConfigItem): Promise<boolean>;
  /**
   * `apply` for many items at once, answering per item in the same order. The keys must be
   * distinct (coalesce a batch first); the items are independent of one another, so the order
   * in which they are written is not specified. A tombstone is stored without data or run state.
   */
  applyBatch(items: readonly ConfigItem[]): Promise<boolean[]>;
  /** Sets a live item's run state (R2) without touching its version; false if not live. */
  setRunState(key: ItemKey, running: boolean): Promise<boolean>;
  /** The failover module's own state (R3): never replicated. */
  getLocal<T>(name: string): Promise<T | undefined>;
  putLocal<T>(name: string, value: T, options?: { readonly expiresAt?: number }): Promise<void>;
  /** Local values whose name starts with `prefix` and is not before `from`, last name first. */
  listLocal<T>(prefix: string, from: string, limit: number): Promise<T[]>;
  /**
   * Writes a local (R3) value only while the stored one is at revision `expectedRev` (absent:
   * no value yet, or one without a revision); false when another writer got there first. The value carries its `rev`.
   */
  putLocalIf<T extends { readonly rev: number }>(
    name: string,
    value: T,
    expectedRev: number | undefined,
  ): Promise<boolean>;
}

/** Where a server keeps its configuration's history (R26): a DynamoDB table of its own. */
export interface HistoryStore {
  /** Keeps changes until `expiresAt` (epoch seconds); a change kept again is kept once. */
  record(changes: readonly HistoryChange[], expiresAt: number): Promise<void>;
  /** One scope's changes with versions above `after` and up to `upTo`, newest first. */
  list(
    scope: string,
    versions: { readonly after: number; readonly upTo: number },
    page: PageRequest,
  ): Promise<Page<HistoryChange>>;
}

/** Where the failover password lives (Secrets Manager in the cloud, a 0600 file locally). R4. */
export interface SecretStore {
  /** The value, possibly cached for a short while (at most 30 s). */
  get(name: string): Promise<string | undefined>;
  /** Reads again now (rate-limited), when the cached value was refused: it may have changed. */
  refresh(name: string): Promise<string | undefined>;
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

/** A message of the FIFO queue: changes of one message group, in order (shared/sync/capture.ts). */
export interface QueuedMessage {
  readonly body: string;
  /** The domain, or the server level: changes of one group keep their order (R8). */
  readonly groupId: string;
  /** Derived from the stream records it carries: a re-sent message is dropped by the queue. */
  readonly deduplicationId: string;
}

/** The FIFO queue between capture and forward, and its dead-letter queue. */
export interface ChangeQueue {
  /** Sends in order; stops at the first failure. Returns, per message, true or the error. */
  sendInOrder(messages: QueuedMessage[]): Promise<(true | Error)[]>;
  /** Keeps a message the failover rejected (one change alone), with the reason (R10). */
  deadLetter(message: QueuedMessage, reason: string): Promise<void>;
  /** Makes received messages visible again after `afterSeconds` (0: at once). */
  release(receiptHandles: string[], afterSeconds?: number): Promise<void>;
  /** Moves what the DLQ kept back to the queue (R9 resume); a 409 while a move is running. */
  redrive(): Promise<void>;
  depths(): Promise<{ queued: number; inFlight: number; deadLettered: number }>;
}

/** Turns the forwarding of queued changes off and on (R9): the Lambda event source mapping. */
export interface ForwardSwitch {
  suspend(): Promise<void>;
  resume(): Promise<void>;
}

/** The failover's answer to `GET /api/sync/hello`. */
export interface PeerHello {
  readonly serverId: string;
  readonly protocol: number;
  readonly autoSync: boolean;
}

export interface PeerResult {
  readonly status: "applied" | "stale" | "rejected";
  readonly reason?: string;
  readonly appliedAt: number;
}

/** The failover's receiving side, over HTTPS with its admin credentials. */
export interface PeerClient {
  hello(): Promise<PeerHello>;
  sendChanges(origin: string, changes: unknown[]): Promise<PeerResult[]>;
}

/** One stored record as a full-table scan sees it: config items, tombstones and local state alike. */
export type StoredRecord = ItemKey & Record<string, unknown>;

/**
 * The bulk side of the store, for the full sync (R12): parallel scan segments and unconditional
 * batch writes. A full sync copies production verbatim, so it bypasses the version rule here.
 */
export interface BulkStore {
  /** One page of scan segment `segment` of `totalSegments`; every record, tombstones included. */
  scan(segment: number, totalSegments: number, page: PageRequest): Promise<Page<StoredRecord>>;
  /** Writes the items as they are (versions included), overwriting what is stored. */
  putAll(items: ConfigItem[]): Promise<void>;
  /** Removes the records for good (no tombstones). */
  deleteAll(keys: ItemKey[]): Promise<void>;
}

/** Starts a state machine execution named by the run's id (full sync, failback): Step Functions in the cloud, the local interpreter locally. */
export interface RunStarter {
  start(runId: string): Promise<void>;
}

/** A failover that also answers the full sync's routes (`/api/sync/full/...`). */
export interface FullSyncPeer extends PeerClient {
  call(method: string, path: string, body?: unknown): Promise<unknown>;
}
