import { type ConfigItem, hasRunState } from "../model/items.ts";
import type { FailoverSettings } from "../model/schemas.ts";

/** A replicated item on its way to the failover. */
export interface Change {
  readonly item: ConfigItem;
}

type Rules = Pick<FailoverSettings, "ipSubstitutions" | "startAfterSync">;

/**
 * What the failover must hold for a production item: services listen on the substituted IP
 * (R14), and the run state an item new to the failover gets is `startAfterSync` (R13; an
 * existing one keeps its own, R2).
 */
export function toFailover(item: ConfigItem, rules: Rules): ConfigItem {
  if (item.deleted || !item.data) return item;
  const data = { ...item.data };
  if (item.kind === "service") {
    const mapping = rules.ipSubstitutions.find(({ ip }) => ip === data.ip);
    if (mapping) data.ip = mapping.substituteIp;
  }
  const { running: _own, ...rest } = item;
  return { ...rest, data, ...(hasRunState(item.kind) ? { running: rules.startAfterSync } : {}) };
}
