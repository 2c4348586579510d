/**
 * Single-table layout. One domain's items share a partition (`DOMAIN#<name>`), so a domain is
 * read, copied and deleted with Queries; server-level config lives under `SERVER`; the
 * failover module's own state under `LOCAL` is never replicated (R3).
 */
export type Kind = "domain" | "user" | "group" | "service" | "web" | "trigger" | "heartbeat";

export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** A replicated configuration item as stored and as sent to the failover (state, not operations). */
export interface ConfigItem extends ItemKey {
  readonly kind: Kind;
  /** The name, username or id within its scope. */
  readonly id: string;
  readonly domain?: string;
  /** Hybrid-logical-clock version (R8); a write is applied only over a lower version. */
  readonly version: number;
  /** The server the change was made on (R18). */
  readonly origin: string;
  /** Wall-clock ms of the commit on the origin, for replication lag (R20). */
  readonly updatedAt: number;
  /** Tombstone: kept so that an older write can never resurrect the item (R8). */
  readonly deleted?: true;
  readonly data?: Record<string, unknown>;
  /**
   * Run state (R2): a domain is started, web services are enabled. Local to each server and
   * outside the versioned data: changing it never changes `version`, and the receiver of a
   * change keeps its own (R13).
   */
  readonly running?: boolean;
}

export const LOCAL_PK = "LOCAL";
const SERVER_PK = "SERVER";
const DOMAIN_PREFIX = "DOMAIN#";

const childSk: Record<Exclude<Kind, "domain" | "web" | "trigger" | "heartbeat">, string> = {
  user: "USER#",
  group: "GROUP#",
  service: "SERVICE#",
};

export const domainPk = (domain: string) => `${DOMAIN_PREFIX}${domain}`;
export const domainKey = (domain: string): ItemKey => ({ pk: domainPk(domain), sk: "DOMAIN" });
export const childKey = (domain: string, kind: keyof typeof childSk, id: string): ItemKey => ({
  pk: domainPk(domain),
  sk: `${childSk[kind]}${id}`,
});
export const childPrefix = (kind: keyof typeof childSk) => childSk[kind];
/** Whether items of this kind live in a domain (users, groups, services). */
export const isDomainScoped = (kind: Kind): kind is keyof typeof childSk => kind in childSk;
export const webKey: ItemKey = { pk: SERVER_PK, sk: "WEB" };
/** Production's heartbeat (R20): written every interval, sent through the pipeline like any change. */
export const heartbeatKey: ItemKey = { pk: SERVER_PK, sk: "HEARTBEAT" };
export const isHeartbeat = (key: ItemKey) => key.pk === SERVER_PK && key.sk === heartbeatKey.sk;
export const triggerKey = (id: string): ItemKey => ({ pk: SERVER_PK, sk: `TRIGGER#${id}` });
export const TRIGGER_PREFIX = "TRIGGER#";
export const SERVER_PARTITION = SERVER_PK;

/** Whether an item belongs to the replicated configuration (R3: local state never does). */
export const isReplicated = (key: ItemKey) =>
  key.pk === SERVER_PK || key.pk.startsWith(DOMAIN_PREFIX);

/** Whether an item kind has a run state (R2): domains start and stop, web services are enabled. */
export const hasRunState = (kind: Kind) => kind === "domain" || kind === "web";

/** The partition of a change: its domain, or the server level (R8 orders per domain). */
export const partitionOf = (item: ConfigItem) => item.domain ?? SERVER_PK;

/** `user:alice`, `service:sftp`, `domain`, `web`, `trigger:x`: how a report names an item. */
export function itemId(item: Pick<ConfigItem, "kind" | "id">): string {
  return item.kind === "domain" || item.kind === "web" ? item.kind : `${item.kind}:${item.id}`;
}

export function tombstone(
  item: ConfigItem,
  version: number,
  origin: string,
  now: number,
): ConfigItem {
  const { data: _data, running: _running, ...rest } = item;
  return { ...rest, version, origin, updatedAt: now, deleted: true };
}
