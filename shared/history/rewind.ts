import { differentFields } from "../model/fields.ts";
import { type ConfigItem, isHeartbeat, itemId, tombstone } from "../model/items.ts";
import type { HistoryChange } from "./change.ts";

/** A scope's state at a moment, or the items whose latest change history has not recorded yet. */
export type StateAt =
  | { readonly items: ConfigItem[]; readonly behind?: undefined }
  | { readonly behind: string[] };

/**
 * The live items of one scope at the moment whose last version is `lastVersion`, from its items
 * now (tombstones included) and history's changes after that moment: an item changed since
 * was, at the moment, what its first change since found (`before`); an item not changed since
 * is as it is now. The current items are read before the changes, so a change made in between
 * is in the changes. An item whose current version history does not hold yet (the stream is a
 * moment behind the table) makes the answer `behind`: it cannot be undone yet.
 */
export function stateAt(
  current: readonly ConfigItem[],
  changesAfter: readonly HistoryChange[],
  lastVersion: number,
): StateAt {
  const first = new Map<string, HistoryChange>();
  const latest = new Map<string, number>();
  for (const change of changesAfter) {
    if (change.version <= lastVersion) continue;
    const earliest = first.get(change.key);
    if (!earliest || change.version < earliest.version) first.set(change.key, change);
    latest.set(change.key, Math.max(latest.get(change.key) ?? 0, change.version));
  }
  // The heartbeat is not configuration: history never records it (change.ts).
  const items = current.filter((item) => !isHeartbeat(item));
  const behind = items
    .filter((item) => item.version > lastVersion && (latest.get(item.sk) ?? 0) < item.version)
    .map(itemId);
  if (behind.length > 0) return { behind };
  const state = new Map<string, ConfigItem | undefined>(items.map((item) => [item.sk, item]));
  for (const [key, change] of first) state.set(key, change.before);
  const live = [...state.values()].filter(
    (item): item is ConfigItem => item !== undefined && !item.deleted,
  );
  return { items: live.sort(byKey) };
}

const byKey = (a: ConfigItem, b: ConfigItem) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0);

/** What a rewind changes (ids as drift names them), and the writes that do it. */
export interface RewindPlan {
  /** Items the moment had and the scope has not now: put back. */
  readonly added: string[];
  /** Items the scope has now and the moment had not: deleted. */
  readonly removed: string[];
  /** Items in both whose data differ: given the moment's data. */
  readonly changed: { readonly id: string; readonly fields: string[] }[];
  /**
   * New versions of the items above, all at `version` (above every current one): ordinary
   * changes that automatic sync carries to the peer and that history keeps, so a rewind can be
   * rewound. A domain put back comes first, a domain deleted last.
   */
  readonly writes: ConfigItem[];
}

/**
 * The writes that make a scope's live items equal `target` (the state at a moment), stamped as
 * a change made on `origin` at `now`. Run state stays local (R2): a live item keeps its own
 * (the version rule's write does), one put back takes the run state it had at the moment.
 */
export function rewindPlan(
  target: readonly ConfigItem[],
  current: readonly ConfigItem[],
  stamp: { readonly version: number; readonly origin: string; readonly now: number },
): RewindPlan {
  const { version, origin, now } = stamp;
  const live = new Map(current.filter((item) => !item.deleted).map((item) => [item.sk, item]));
  const wanted = new Map(target.map((item) => [item.sk, item]));
  const added: string[] = [];
  const removed: string[] = [];
  const changed: { id: string; fields: string[] }[] = [];
  const writes: ConfigItem[] = [];
  for (const [key, item] of wanted) {
    const existing = live.get(key);
    const fields = existing ? differentFields(existing, item) : [];
    if (existing && fields.length === 0) continue;
    if (existing) changed.push({ id: itemId(item), fields });
    else added.push(itemId(item));
    const { deleted: _deleted, ...restored } = item;
    writes.push({ ...restored, version, origin, updatedAt: now });
  }
  for (const [key, item] of live) {
    if (wanted.has(key) || isHeartbeat(item)) continue;
    removed.push(itemId(item));
    writes.push(tombstone(item, version, origin, now));
  }
  return {
    added: added.sort(),
    removed: removed.sort(),
    changed: changed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    writes: writes.sort(domainOrder),
  };
}

/** A domain's own item is written before its children when it comes back, after them when it goes. */
function domainOrder(a: ConfigItem, b: ConfigItem): number {
  const rank = (item: ConfigItem) => (item.kind !== "domain" ? 1 : item.deleted ? 2 : 0);
  return rank(a) - rank(b);
}
