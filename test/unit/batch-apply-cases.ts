import fc from "fast-check";
import type { ConfigItem } from "../../shared/model/items.ts";
import type { ApplyResult } from "../../shared/sync/apply.ts";
import type { Change } from "../../shared/sync/transform.ts";

/**
 * Batches for the tests of `applyChanges` (test/unit/batch-apply.test.ts with the memory store,
 * test/integration/batch-apply.test.ts with DynamoDB Local): keys of two domains and the server
 * level, versions that collide, tombstones, run states, and the answers expected.
 */

/** Versions well in the past of the receiver's clock (R8's skew check lets them through). */
export const V = 1_000_000_000;

export type Slot = "domain" | "group" | "web";
export interface Spec {
  readonly slot: Slot;
  readonly domain: "d1" | "d2";
  readonly child: "a" | "b";
  readonly version: number;
  readonly deleted: boolean;
  readonly running: boolean;
  readonly description: string;
  /** A domain item may carry its own name as `domain`, or not. */
  readonly domainAttribute: boolean;
  /** A tombstone that carries data anyway (stored without it). */
  readonly dataOnTombstone: boolean;
  readonly invalid: boolean;
}

/** A received item of the batch; `invalid` ones break the admin API's id rules (R25). */
export function itemOf(spec: Spec, prefix = ""): ConfigItem {
  const domain = `${prefix}${spec.domain}`;
  const id = spec.invalid ? "not valid!" : undefined;
  const common = (data: Record<string, unknown>) => ({
    version: V + spec.version,
    origin: "prod",
    updatedAt: spec.version,
    ...(spec.deleted
      ? { deleted: true as const, ...(spec.dataOnTombstone ? { data } : {}) }
      : { data }),
  });
  switch (spec.slot) {
    case "domain":
      return {
        ...common({ description: spec.description, limits: {} }),
        pk: `DOMAIN#${domain}`,
        sk: "DOMAIN",
        kind: "domain",
        id: id ?? domain,
        ...(spec.domainAttribute ? { domain } : {}),
        running: spec.running,
      };
    case "group":
      return {
        ...common({ description: spec.description }),
        pk: `DOMAIN#${domain}`,
        sk: `GROUP#${id ?? spec.child}`,
        kind: "group",
        id: id ?? spec.child,
        domain,
      };
    case "web":
      return {
        ...common({ port: spec.version }),
        pk: "SERVER",
        sk: "WEB",
        kind: "web",
        id: id ?? "web",
        running: spec.running,
      };
  }
}

export const spec: fc.Arbitrary<Spec> = fc.record({
  slot: fc.constantFrom<Slot>("domain", "domain", "group", "group", "group", "web"),
  domain: fc.constantFrom("d1", "d2"),
  child: fc.constantFrom("a", "b"),
  version: fc.integer({ min: 1, max: 12 }),
  deleted: fc.boolean(),
  running: fc.boolean(),
  description: fc.constantFrom("x", "y"),
  domainAttribute: fc.boolean(),
  dataOnTombstone: fc.constant(false),
  invalid: fc.constant(false),
});

export const keyOf = (item: ConfigItem) => `${item.pk}\u0000${item.sk}`;

/**
 * The answers the batch must give, from those of applying the changes one by one: the same,
 * except that a change superseded within the batch (a newer change of its key follows, or an
 * equal one came first) is `stale`.
 */
export function expectedAnswers(changes: readonly Change[], oneByOne: readonly ApplyResult[]) {
  const newest = new Map<string, number>();
  changes.forEach(({ item }, index) => {
    if (oneByOne[index]?.status === "rejected") return;
    const best = newest.get(keyOf(item));
    const current = best === undefined ? undefined : changes[best]?.item.version;
    if (current === undefined || item.version > current) newest.set(keyOf(item), index);
  });
  return oneByOne.map((result, index) => {
    const item = changes[index]?.item;
    const superseded = result.status !== "rejected" && item && newest.get(keyOf(item)) !== index;
    return superseded ? { status: "stale" } : answer(result);
  });
}

export const answer = ({ status, reason }: ApplyResult) => ({
  status,
  ...(reason !== undefined ? { reason } : {}),
});
