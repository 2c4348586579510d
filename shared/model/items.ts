/**
 * Single-table layout. One domain's items share a partition (`DOMAIN#<name>`), so a domain is
 * read, copied and deleted with Queries; server-level config lives under `SERVER`; the
 * failover module's own state under `LOCAL` is never replicated (R3).
 */
export type Kind = "domain" | "user" | "group" | "service" | "web" | "trigger";

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
}

export const LOCAL_PK = "LOCAL";
const SERVER_PK = "SERVER";
const DOMAIN_PREFIX = "DOMAIN#";

const childSk: Record<Exclude<Kind, "domain" | "web" | "trigger">, string> = {
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
export const webKey: ItemKey = { pk: SERVER_PK, sk: "WEB" };
export const triggerKey = (id: string): ItemKey => ({ pk: SERVER_PK, sk: `TRIGGER#${id}` });
export const TRIGGER_PREFIX = "TRIGGER#";
export const SERVER_PARTITION = SERVER_PK;

/** Whether an item belongs to the replicated configuration (R3: local state never does). */
export const isReplicated = (key: ItemKey) =>
  key.pk === SERVER_PK || key.pk.startsWith(DOMAIN_PREFIX);

/** The message group of a change: its domain, or the server level (R8 orders per domain). */
export const partitionOf = (item: ConfigItem) => item.domain ?? SERVER_PK;

export function tombstone(
  item: ConfigItem,
  version: number,
  origin: string,
  now: number,
): ConfigItem {
  const { data: _data, ...rest } = item;
  return { ...rest, version, origin, updatedAt: now, deleted: true };
}
