import { type ConfigItem, hasRunState } from "../model/items.ts";

/** The sparse index's partition key of every live domain (config-table.ts). */
export const DOMAINS = "DOMAIN";

/** Live domains carry the sparse index keys; tombstones drop out of the listing. */
export function toRecord(item: ConfigItem): Record<string, unknown> {
  return item.kind === "domain" && !item.deleted
    ? { ...item, gsi1pk: DOMAINS, gsi1sk: item.id }
    : { ...item };
}

export function fromRecord(record: Record<string, unknown>): ConfigItem {
  const { gsi1pk: _pk, gsi1sk: _sk, ...item } = record;
  return item as unknown as ConfigItem;
}

/**
 * What a versioned write (`apply`, `applyBatch`) stores for an item: a tombstone without data or
 * run state, a run-state kind with a boolean `running` (the one a new item gets), other kinds
 * without one.
 */
export function storedRecord(item: ConfigItem): Record<string, unknown> {
  const { data, running, ...rest } = toRecord(item);
  if (item.deleted) return rest;
  return { ...rest, data, ...(hasRunState(item.kind) ? { running: running === true } : {}) };
}

/** What a versioned write removes: a tombstone drops data, run state and index keys. */
export const removedAttributes = (item: ConfigItem): string[] =>
  item.deleted ? ["data", "running", "gsi1pk", "gsi1sk"] : ["deleted"];

/**
 * The version rule (R8): a change is written over a stored item only where the stored version
 * is lower than the change's. Both write forms render this one comparison.
 */
const VERSION_RULE = { attribute: "version", storedIs: "<" } as const;

/** The version rule as an UpdateItem condition; a key with no item passes too. */
export function versionCondition(version: number) {
  return {
    ConditionExpression: `attribute_not_exists(pk) OR #version ${VERSION_RULE.storedIs} :version`,
    ExpressionAttributeNames: { "#version": VERSION_RULE.attribute },
    ExpressionAttributeValues: { ":version": version },
  };
}

/** The version rule as a PartiQL WHERE term with its parameter (a missing key: INSERT's job). */
export function versionPredicate(version: number) {
  return {
    text: `"${VERSION_RULE.attribute}" ${VERSION_RULE.storedIs} ?`,
    parameter: version,
  };
}
