import { differentFields } from "../model/fields.ts";
import { type ConfigItem, isHeartbeat, isReplicated, itemId } from "../model/items.ts";
import { versionTimeMs } from "../model/version.ts";

/** How long history keeps a change unless the deployment says otherwise (R26), in days. */
export const DEFAULT_HISTORY_DAYS = 7;

/**
 * One stored configuration change as history keeps it (R26): which item, what happened, and
 * the item as it was just before — what a rewind puts back. Kept for the retention period.
 */
export interface HistoryChange {
  /** The item's partition: `DOMAIN#<name>` or `SERVER` (the history's partition too). */
  readonly scope: string;
  /** The item's sort key in the config table. */
  readonly key: string;
  /** How reports name the item (`user:alice`, `domain`, `trigger:x`). */
  readonly id: string;
  readonly domain?: string;
  readonly op: "put" | "delete";
  /** The change's version (R8): when it was made on its origin, the same on both servers. */
  readonly version: number;
  readonly origin: string;
  /** The data fields it changed (none for a delete). */
  readonly fields: string[];
  /**
   * The stored item before the change, tombstone or run state included; absent when there was
   * none. Holds secrets as stored (password hashes): never part of an answer.
   */
  readonly before?: ConfigItem;
}

/**
 * The change a stream record stands for, if history keeps it: a new version of a replicated
 * item (own or applied by sync: both change what this server serves). Not kept: local state
 * (R3), the heartbeat (R20: it moves every minute and is not configuration), a run-state change
 * (R2: same version), a removal (config deletes are tombstones; a hard delete is housekeeping).
 */
export function historyChangeOf(
  after: ConfigItem | undefined,
  before: ConfigItem | undefined,
): HistoryChange | undefined {
  if (!after || !isReplicated(after) || isHeartbeat(after)) return undefined;
  if (before?.version === after.version) return undefined;
  const liveBefore = before && !before.deleted ? before : undefined;
  return {
    scope: after.pk,
    key: after.sk,
    id: itemId(after),
    ...(after.domain !== undefined ? { domain: after.domain } : {}),
    op: after.deleted ? "delete" : "put",
    version: after.version,
    origin: after.origin,
    fields: after.deleted ? [] : differentFields(liveBefore, after),
    ...(before ? { before } : {}),
  };
}

/** When a change was made (epoch ms), read off its version. */
export const changedAt = (change: Pick<HistoryChange, "version">) => versionTimeMs(change.version);

/** The highest version made at or before `atMs`: a change is after the moment T when above it. */
export const lastVersionAt = (atMs: number) => atMs * 1000 + 999;
