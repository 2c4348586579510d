import type { ConfigItem } from "../model/items.ts";
import type { FailoverSettings } from "../model/schemas.ts";

/** A replicated item on its way to the failover. */
export interface Change {
  readonly item: ConfigItem;
  /** R13: an existing domain (or web settings) on the failover keeps its own run state. */
  readonly keepRunState?: boolean;
}

type Rules = Pick<FailoverSettings, "ipSubstitutions" | "startAfterSync">;

/**
 * What the failover must hold for a production item: services listen on the substituted IP
 * (R14), and run state is `startAfterSync` for items new to the failover (R13).
 */
export function toFailover(item: ConfigItem, rules: Rules, keepRunState: boolean): Change {
  if (item.deleted || !item.data) return { item };
  const data = { ...item.data };
  if (item.kind === "service") {
    const mapping = rules.ipSubstitutions.find(({ ip }) => ip === data.ip);
    if (mapping) data.ip = mapping.substituteIp;
  }
  const runKey = runStateKey(item);
  if (runKey) data[runKey] = rules.startAfterSync;
  return { item: { ...item, data }, ...(runKey && keepRunState ? { keepRunState: true } : {}) };
}

/** The attribute that holds an item's run state (R2), if it has one. */
export function runStateKey(item: ConfigItem): "running" | "enabled" | undefined {
  return item.kind === "domain" ? "running" : item.kind === "web" ? "enabled" : undefined;
}
