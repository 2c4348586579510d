import { z } from "zod";
import * as entities from "../config/entities.ts";
import {
  type ConfigItem,
  hasRunState,
  isDomainScoped,
  isReplicated,
  type Kind,
} from "../model/items.ts";
import {
  domainInput,
  groupInput,
  name,
  serviceInput,
  triggerInput,
  userInput,
  username,
  webSettingsInput,
} from "../model/schemas.ts";
import type { HybridClock } from "../model/version.ts";
import type { ConfigStore } from "../ports.ts";
import { deleteDomainCascade } from "./cascade.ts";
import type { Change } from "./transform.ts";

/** What a stored item's data must look like, per kind (the API's input, as stored). */
const storedData: Record<Kind, z.ZodType> = {
  domain: domainInput,
  user: userInput
    .omit({ password: true })
    // Its message names no part of a hash: an answer never shows one, not even its format (R25).
    .extend({
      passwordHash: z
        .string()
        .startsWith("scrypt$", { error: "must be a password hash as this server stores them" })
        .max(512),
    }),
  group: groupInput,
  service: serviceInput,
  web: webSettingsInput.omit({ enabled: true }),
  trigger: triggerInput,
  heartbeat: entities.heartbeat.schema,
};

const typeOf: Record<Kind, entities.EntityType> = {
  domain: entities.domains,
  user: entities.users,
  group: entities.groups,
  service: entities.services,
  web: entities.web,
  trigger: entities.triggers,
  heartbeat: entities.heartbeat,
};

/** The ids the admin API accepts, per kind: received items follow the same rules (R25). */
const idOf: Record<Kind, z.ZodType<string>> = {
  domain: name,
  user: username,
  group: name,
  service: name,
  web: z.literal("web"),
  trigger: name,
  heartbeat: z.literal("heartbeat"),
};

/** A received item: these attributes and no others (an extra `gsi1pk` would list a user as a domain). */
const receivedItem = z.strictObject({
  pk: z.string().max(300),
  sk: z.string().max(300),
  kind: z.enum(["domain", "user", "group", "service", "web", "trigger", "heartbeat"]),
  id: z.string().max(128),
  domain: name.optional(),
  version: z.number().int().positive(),
  origin: z.string().min(1).max(256),
  updatedAt: z.number().int().nonnegative(),
  deleted: z.literal(true).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  running: z.boolean().optional(),
});

/** How far ahead of this server's clock a received version may be (R8). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The envelope's view of an item: loose, so that one bad item is rejected on its own (R10)
 * by `problem`, not the whole batch.
 */
export const changeSchema = z.strictObject({
  item: z.looseObject({
    pk: z.string(),
    sk: z.string(),
    kind: z.enum(["domain", "user", "group", "service", "web", "trigger", "heartbeat"]),
    id: z.string(),
    domain: z.string().optional(),
    version: z.number().int().positive(),
    origin: z.string().min(1),
    updatedAt: z.number().int().nonnegative(),
    deleted: z.literal(true).optional(),
    data: z.record(z.string(), z.unknown()).optional(),
    running: z.boolean().optional(),
  }),
});

export type ApplyStatus = "applied" | "stale" | "rejected";
export interface ApplyResult {
  readonly status: ApplyStatus;
  readonly reason?: string;
  /** When the failover committed it (ms), for replication lag (R20). */
  readonly appliedAt: number;
}

const issue = (error: z.ZodError) =>
  `${error.issues[0]?.path.join(".")} ${error.issues[0]?.message}`.trim();

/**
 * Why a version from a peer cannot be taken here (R8): it is more than MAX_CLOCK_SKEW_MS ahead of
 * `now`, so it would freeze its item and lift this server's clock past what a later change
 * could outrank.
 */
export function versionProblem(version: number, now: number): string | undefined {
  if (version <= (now + MAX_CLOCK_SKEW_MS) * 1000) return undefined;
  return `version ${version} is more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead of this server's clock`;
}

/**
 * Why an item cannot be stored here, or undefined when it is well-formed: the admin API's rules
 * for ids and data (R25), and a version at most MAX_CLOCK_SKEW_MS ahead of `now` (R8), so that
 * no peer can push an item, or this server's clock, beyond what a later change could outrank.
 */
export function problem(item: ConfigItem, now: number = Date.now()): string | undefined {
  if (!isReplicated(item)) return "not a replicated item";
  const shape = receivedItem.safeParse(item);
  if (!shape.success) return `invalid item: ${issue(shape.error)}`;
  const id = idOf[item.kind].safeParse(item.id);
  if (!id.success) return `invalid ${item.kind} id: ${issue(id.error)}`;
  const ahead = versionProblem(item.version, now);
  if (ahead) return ahead;
  if (isDomainScoped(item.kind) && item.domain === undefined)
    return `domain: is required for a ${item.kind}`;
  const type = typeOf[item.kind];
  const expected = type.key({
    id: item.id,
    ...(item.domain !== undefined ? { domain: item.domain } : {}),
  });
  if (expected.pk !== item.pk || expected.sk !== item.sk) return "key does not match kind and id";
  if (item.deleted) return undefined;
  if (!item.data) return "data is missing";
  const parsed = storedData[item.kind].safeParse(item.data);
  return parsed.success ? undefined : `invalid ${type.label}: ${issue(parsed.error)}`;
}

/**
 * The receiving side of every sync (R8): an item is written only over a lower version, a
 * tombstone blocks older writes, a domain's tombstone takes its items with it, and an existing
 * item keeps its own run state (R2, R13).
 */
export async function applyChange(
  store: ConfigStore,
  clock: HybridClock,
  change: Change,
  now: () => number = Date.now,
): Promise<ApplyResult> {
  const { item } = change;
  const reason = problem(item, now());
  if (reason) return { status: "rejected", reason, appliedAt: now() };
  clock.observe(item.version);
  const applied = await store.apply(item);
  if (applied && item.kind === "domain" && item.deleted) await deleteDomainCascade(store, item);
  return { status: applied ? "applied" : "stale", appliedAt: now() };
}

/** A valid change of a batch: its place in the batch and its item. */
interface Placed {
  readonly index: number;
  readonly item: ConfigItem;
}

/** Changes of one key that one write stands for: the newest of them (the first among equals). */
interface Segment {
  readonly round: number;
  readonly members: Placed[];
  winner: Placed;
}

const keyOf = (item: ConfigItem) => `${item.pk}\u0000${item.sk}`;
const isDomainTombstone = (item: ConfigItem) => item.kind === "domain" && item.deleted === true;

/**
 * Whether `next` may be written together with the changes of `segment` (same key) as one write
 * of their newest, with the same outcome as writing each in turn: after a tombstone, a newer
 * put would be a new item (it takes its own run state, R13), so it waits for a later round, as
 * does a second domain tombstone (each cascades at its own version); puts of a run-state kind
 * must agree on the run state a new item gets; `domain` must agree (a put leaves absent
 * attributes as they are).
 */
function joins(segment: Segment, next: ConfigItem): boolean {
  const items = segment.members.map(({ item }) => item);
  if (items.some((item) => item.domain !== next.domain)) return false;
  if (next.deleted) return !isDomainTombstone(next) || !items.some((item) => item.deleted === true);
  if (items.some((item) => item.deleted && item.version < next.version)) return false;
  return (
    !hasRunState(next.kind) ||
    items.every((item) => item.deleted || (item.running === true) === (next.running === true))
  );
}

/**
 * Plans a batch's writes in rounds (almost always one): each round writes, per key, the newest
 * change of a run of that key's changes (older ones are coalesced away), then cascades the
 * domain tombstones it applied. The rounds make the outcome the one of applying the changes one
 * by one in batch order: a key's runs go in order, a change no newer than an earlier domain
 * tombstone of its partition comes after that tombstone's cascade, and a domain tombstone comes
 * no earlier than the changes of its partition before it that are no newer than it.
 */
function planRounds(changes: readonly Placed[]): Segment[][] {
  const segments = new Map<string, Segment[]>();
  /** Per partition: the changes placed so far, with their round. */
  const placed = new Map<string, { item: ConfigItem; round: number }[]>();
  const rounds: Segment[][] = [];
  for (const change of changes) {
    const { item } = change;
    const before = placed.get(item.pk) ?? [];
    let earliest = 0;
    for (const earlier of before) {
      if (isDomainTombstone(earlier.item) && item.version <= earlier.item.version)
        earliest = Math.max(earliest, earlier.round + 1);
      // Its cascade must meet what came before it, an equal version included (which survives).
      if (isDomainTombstone(item) && earlier.item.version <= item.version)
        earliest = Math.max(earliest, earlier.round);
    }
    const ofKey = segments.get(keyOf(item)) ?? [];
    const last = ofKey.at(-1);
    let segment: Segment;
    if (last && last.round >= earliest && joins(last, item)) {
      segment = last;
      segment.members.push(change);
      if (item.version > segment.winner.item.version) segment.winner = change;
    } else {
      segment = {
        round: Math.max(earliest, last ? last.round + 1 : 0),
        members: [change],
        winner: change,
      };
      ofKey.push(segment);
      segments.set(keyOf(item), ofKey);
      for (let round = rounds.length; round <= segment.round; round++) rounds.push([]);
      rounds[segment.round]?.push(segment);
    }
    placed.set(item.pk, [...before, { item, round: segment.round }]);
  }
  return rounds;
}

/**
 * `applyChange` for a whole batch, with the same stored outcome and the same answers, in fewer
 * requests: each change is validated on its own (a rejected one is never written), each key's
 * changes are coalesced to the newest (an older one, superseded within the batch, is answered
 * `stale` with the time the newest was written), and the rest are written together with the
 * version rule (`ConfigStore.applyBatch`), in rounds that keep one-by-one order where it matters
 * (see `planRounds`).
 */
export async function applyChanges(
  store: ConfigStore,
  clock: HybridClock,
  changes: readonly Change[],
  now: () => number = Date.now,
): Promise<ApplyResult[]> {
  const results: (ApplyResult | undefined)[] = changes.map(() => undefined);
  const valid: Placed[] = [];
  const validatedAt = now();
  changes.forEach(({ item }, index) => {
    const reason = problem(item, validatedAt);
    if (reason) results[index] = { status: "rejected", reason, appliedAt: validatedAt };
    else {
      clock.observe(item.version);
      valid.push({ index, item });
    }
  });
  const newest = new Map<string, Placed>();
  for (const change of valid) {
    const current = newest.get(keyOf(change.item));
    if (!current || change.item.version > current.item.version)
      newest.set(keyOf(change.item), change);
  }
  const writtenAt = new Map<string, number>();
  for (const round of planRounds(valid).filter((segments) => segments.length > 0)) {
    const winners = round.map((segment) => segment.winner);
    const applied = await store.applyBatch(winners.map(({ item }) => item));
    await Promise.all(
      winners.map(({ item }, position) =>
        applied[position] && isDomainTombstone(item) ? deleteDomainCascade(store, item) : null,
      ),
    );
    const at = now();
    winners.forEach(({ index, item }, position) => {
      writtenAt.set(keyOf(item), at);
      results[index] = { status: applied[position] ? "applied" : "stale", appliedAt: at };
    });
  }
  // Only a key's newest change can be what the key holds now; the older ones were superseded.
  for (const { index, item } of valid) {
    if (newest.get(keyOf(item))?.index !== index)
      results[index] = { status: "stale", appliedAt: writtenAt.get(keyOf(item)) ?? now() };
  }
  return results.map((result, index) => {
    if (!result) throw new Error(`no result for change ${index}`);
    return result;
  });
}
