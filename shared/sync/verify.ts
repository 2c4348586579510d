import { createHash, randomUUID } from "node:crypto";
import { z } from "zod";
import { replaceSecretHeaders } from "../config/entities.ts";
import { AppError, conflict, fromZodError, invalid } from "../errors.ts";
import { differentFields } from "../model/fields.ts";
import {
  type ConfigItem,
  domainPk,
  isHeartbeat,
  isReplicated,
  itemId,
  SERVER_PARTITION,
  tombstone,
} from "../model/items.ts";
import type { FailoverSettings } from "../model/schemas.ts";
import { versionTimeMs } from "../model/version.ts";
import { paged } from "../paging.ts";
import type { BulkStore, FullSyncPeer, Page } from "../ports.ts";
import { WriteConflict } from "../ports.ts";
import { changeSchema, problem, versionProblem } from "./apply.ts";
import {
  addDigests,
  canonicalJson,
  digestText,
  EMPTY_DIGEST,
  recordDigest,
} from "./full/digest.ts";
import { parse, segmentRequest } from "./full/receive.ts";
import type { SyncOperationsDeps } from "./operations.ts";
import { toFailover } from "./transform.ts";

/**
 * Verify and repair (R21) in two passes. First both sides scan their tables in parallel
 * segments and digest each partition (a domain, or the server level) — what differs is found
 * at the cost of a scan. Then only the partitions whose digests differ are read again, page by
 * page in key order on both sides, and merged item by item. Memory holds one digest per
 * partition and one page per side, never the items.
 */

/** How verify reads; the benchmark's baseline reads the same way. */
export const verifyLimits = {
  /** Records per page on either side. */
  pageSize: 1000,
  /** Scan segments read side by side in the first pass, on each side. */
  segments: 4,
  /** Differing partitions compared side by side in the second pass. */
  parallelPartitions: 4,
} as const;
const {
  pageSize: PAGE,
  segments: SEGMENTS,
  parallelPartitions: PARALLEL_PARTITIONS,
} = verifyLimits;
/** Ids listed in a report; `differences` counts them all. */
const MAX_LISTED = 1000;
/**
 * How long production's change counts as still on its way when nothing holds it (R21): the
 * stream, the queue and forward deliver in seconds; after this, a difference is drift.
 */
export const VERIFY_SETTLE_MS = 60_000;

export interface DomainDrift {
  /** The domain, or null for the server level (web settings, triggers). */
  readonly domain: string | null;
  readonly missing: string[];
  readonly extra: string[];
  readonly different: { readonly id: string; readonly fields: string[] }[];
  /** Differences automatic sync still carries (not drift). */
  readonly pending: string[];
}

export interface DriftReport {
  readonly checkedAt: string;
  readonly durationMs: number;
  /** Drift: items that differ (missing on the failover, extra there, or different) and that
   * automatic sync will not fix by itself. */
  readonly differences: number;
  /** Items that differ while automatic sync still carries production's newer version. */
  readonly pending: number;
  readonly domains: DomainDrift[];
  /** Some ids were left out of `domains` (more than MAX_LISTED differences). */
  readonly truncated: boolean;
}

/**
 * One difference; `item` is production's record, `theirs` the failover's (with its password
 * hash digested); a side's tombstone comes with it where that side has no live item.
 */
export type Difference =
  | { readonly kind: "missing"; readonly item: ConfigItem; readonly theirs?: ConfigItem }
  | {
      readonly kind: "different";
      readonly item: ConfigItem;
      readonly theirs: ConfigItem;
      readonly fields: string[];
    }
  | { readonly kind: "extra"; readonly theirs: ConfigItem; readonly item?: ConfigItem };

export interface VerifyDeps extends SyncOperationsDeps {
  readonly bulk: BulkStore;
  readonly peerFor: (...args: Parameters<SyncOperationsDeps["peerFor"]>) => FullSyncPeer;
  readonly now?: () => number;
}

const sha256 = (text: string) => `sha256:${createHash("sha256").update(text).digest("base64url")}`;

/**
 * A stored secret never leaves its server (R4, R25): a password hash, and a trigger's secret
 * header value (`{"secret": "<value>"}`), show as digests of themselves — verify compares those.
 */
function withoutSecrets(item: ConfigItem): ConfigItem {
  const { data } = item;
  if (!data) return item;
  if (item.kind === "trigger") {
    const digested = replaceSecretHeaders(data, (stored) => ({
      secret: sha256(canonicalJson(stored)),
    }));
    return { ...item, data: digested };
  }
  if (typeof data.passwordHash !== "string") return item;
  return { ...item, data: { ...data, passwordHash: sha256(data.passwordHash) } };
}

/** The failover's answers, checked before use: a peer is trusted no more than an admin (R25). */
const cursor = z.string().max(4096).optional();
const digestsAnswer = z.object({ partitions: z.record(z.string().max(300), digestText), cursor });
const recordsAnswer = (pk: string) =>
  z.object({
    items: z.array(changeSchema.shape.item.extend({ pk: z.literal(pk) })).max(PAGE),
    cursor,
  });

/** The failover's answer to `route` as `schema` says, or a 502 naming the first bad field. */
function fromFailover<T extends z.ZodType>(schema: T, route: string, answer: unknown): z.infer<T> {
  const parsed = schema.safeParse(answer);
  if (parsed.success) return parsed.data;
  const { message } = fromZodError(parsed.error);
  throw new AppError(
    502,
    "bad_gateway",
    `the failover's answer to ${route} is invalid: ${message}`,
  );
}

/** Items compared by verify: all replicated items but the heartbeat (R20), which always moves. */
const compared = (item: ConfigItem) => !isHeartbeat(item);

/** A partition's digest: the sum of its compared items' digests of key and data (R13: no run state, version or origin). */
type PartitionDigests = Map<string, string>;

/** Adds the live, compared items of one scan page, seen through `view`, to their partitions' digests. */
function addPage(
  digests: PartitionDigests,
  records: readonly ConfigItem[],
  view: (item: ConfigItem) => ConfigItem,
) {
  for (const record of records) {
    if (!isReplicated(record) || record.deleted || !compared(record)) continue;
    const item = view(record);
    const digest = recordDigest({ pk: item.pk, sk: item.sk, data: item.data ?? {} });
    digests.set(item.pk, addDigests(digests.get(item.pk) ?? EMPTY_DIGEST, digest));
  }
}

type DigestsPage = { partitions: Record<string, string>; cursor?: string };

/** The partition digests of one scan page of one segment, each item seen through `view`. */
async function scanDigests(
  bulk: BulkStore,
  request: { segment: number; totalSegments: number; cursor?: string | undefined },
  view: (item: ConfigItem) => ConfigItem,
): Promise<DigestsPage> {
  const page = await bulk.scan(request.segment, request.totalSegments, {
    limit: PAGE,
    ...(request.cursor ? { cursor: request.cursor } : {}),
  });
  const digests: PartitionDigests = new Map();
  addPage(digests, page.items as unknown as ConfigItem[], view);
  return {
    partitions: Object.fromEntries(digests),
    ...(page.cursor ? { cursor: page.cursor } : {}),
  };
}

/**
 * `POST /api/sync/digests` on the failover: the partition digests of one scan page of one
 * segment, password hashes digested first. Read-only.
 */
export async function digestsPage(deps: { readonly bulk: BulkStore }, body: unknown) {
  return scanDigests(deps.bulk, parse(segmentRequest, body), withoutSecrets);
}

const recordsRequest = z.strictObject({
  pk: z.string().min(1).max(200),
  cursor: z.string().max(4096).optional(),
  withTombstones: z.boolean().optional(),
});

/**
 * `POST /api/sync/records` on the failover: one page of one partition's live items (and
 * tombstones, when asked) in key order, password hashes digested. Read-only.
 */
export async function recordsPage(deps: Pick<SyncOperationsDeps, "store">, body: unknown) {
  const { pk, cursor, withTombstones } = parse(recordsRequest, body);
  if (!isReplicated({ pk, sk: "" }))
    throw invalid("pk", "is not a partition of replicated configuration");
  const page = await deps.store.list(
    pk,
    "",
    { limit: PAGE, ...(cursor ? { cursor } : {}) },
    { withTombstones: withTombstones === true },
  );
  return {
    items: page.items.map(withoutSecrets),
    ...(page.cursor ? { cursor: page.cursor } : {}),
  };
}

/** Merges two listings sorted by `key`: pairs with equal keys, and what only one side has. */
async function* mergeJoin(
  ours: AsyncGenerator<ConfigItem>,
  theirs: AsyncGenerator<ConfigItem>,
  key: (item: ConfigItem) => string,
): AsyncGenerator<[ConfigItem | undefined, ConfigItem | undefined]> {
  let a = await ours.next();
  let b = await theirs.next();
  while (!a.done || !b.done) {
    if (b.done || (!a.done && key(a.value) < key(b.value))) {
      yield [a.value as ConfigItem, undefined];
      a = await ours.next();
    } else if (a.done || key(b.value) < key(a.value)) {
      yield [undefined, b.value];
      b = await theirs.next();
    } else {
      yield [a.value, b.value];
      [a, b] = await Promise.all([ours.next(), theirs.next()]);
    }
  }
}

/** The partition digests of one side, its scan segments read side by side. */
async function partitionDigests(
  read: (segment: number, cursor: string | undefined) => Promise<DigestsPage>,
): Promise<PartitionDigests> {
  const digests: PartitionDigests = new Map();
  await Promise.all(
    Array.from({ length: SEGMENTS }, async (_, segment) => {
      let cursor: string | undefined;
      do {
        const page = await read(segment, cursor);
        for (const [pk, digest] of Object.entries(page.partitions))
          digests.set(pk, addDigests(digests.get(pk) ?? EMPTY_DIGEST, digest));
        cursor = page.cursor;
      } while (cursor);
    }),
  );
  return digests;
}

/**
 * Compares production with the failover (R21), with IP substitution applied (R14) and run
 * state left out (R2, R13), calling `found` for each difference in key order per partition.
 */
export async function compare(
  deps: VerifyDeps,
  found: (domain: string | null, difference: Difference) => Promise<void> | void,
  target?: FailoverSettings,
): Promise<void> {
  const { settings, peer } = await failoverPeer(deps, target);
  const rules = { ipSubstitutions: settings.ipSubstitutions, startAfterSync: false };
  const expected = (item: ConfigItem) => withoutSecrets(toFailover(item, rules));
  const page = { limit: PAGE };
  const tombstones = { withTombstones: true } as const;

  // First pass: which partitions differ.
  const [ours, theirs] = await Promise.all([
    partitionDigests((segment, cursor) =>
      scanDigests(deps.bulk, { segment, totalSegments: SEGMENTS, cursor }, expected),
    ),
    partitionDigests(async (segment, cursor) =>
      fromFailover(
        digestsAnswer,
        "/api/sync/digests",
        await peer.call("POST", "/api/sync/digests", {
          segment,
          totalSegments: SEGMENTS,
          ...(cursor ? { cursor } : {}),
        }),
      ),
    ),
  ]);
  const differing = [...new Set([...ours.keys(), ...theirs.keys()])]
    .filter((pk) => isReplicated({ pk, sk: "" }) && ours.get(pk) !== theirs.get(pk))
    .sort();

  // Second pass: the differing partitions, item by item, a bounded number at once. Tombstones
  // are read too: a difference's versions on both sides tell pending from drift (verify).
  const read = (pk: string, side: "ours" | "theirs") =>
    paged(async (cursor) =>
      side === "ours"
        ? deps.store.list(pk, "", { ...page, ...(cursor ? { cursor } : {}) }, tombstones)
        : (fromFailover(
            recordsAnswer(pk),
            "/api/sync/records",
            await peer.call("POST", "/api/sync/records", {
              pk,
              ...(cursor ? { cursor } : {}),
              ...tombstones,
            }),
          ) as Page<ConfigItem>),
    );
  const live = (record: ConfigItem | undefined) => (record?.deleted ? undefined : record);
  const comparePartition = async (pk: string) => {
    const domain = pk === SERVER_PARTITION ? null : pk.slice(domainPk("").length);
    for await (const [ours, theirs] of mergeJoin(
      read(pk, "ours"),
      read(pk, "theirs"),
      (i) => i.sk,
    )) {
      if ((ours && !compared(ours)) || (theirs && !compared(theirs))) continue;
      const [mine, held] = [live(ours), live(theirs)];
      if (mine && !held)
        await found(domain, { kind: "missing", item: mine, ...(theirs ? { theirs } : {}) });
      else if (held && !mine)
        await found(domain, { kind: "extra", theirs: held, ...(ours ? { item: ours } : {}) });
      else if (mine && held) {
        const fields = differentFields(expected(mine), held);
        if (fields.length > 0)
          await found(domain, { kind: "different", item: mine, theirs: held, fields });
      }
    }
  };
  const running = new Set<Promise<void>>();
  for (const pk of differing) {
    const task = comparePartition(pk).finally(() => running.delete(task));
    running.add(task);
    if (running.size >= PARALLEL_PARTITIONS) await Promise.race(running);
  }
  await Promise.all(running);
}

/** The failover: where the settings (or `target`, settings not in force, e.g. during failback) point. */
async function failoverPeer(deps: VerifyDeps, target?: FailoverSettings) {
  const settings = target ?? (await deps.failoverSettings.get());
  if (!settings.enabled || settings.host === undefined)
    throw invalid("failover", "no failover is configured (enabled and host are required)");
  const credentials = await deps.failoverSettings.peerCredentials(settings);
  if (!credentials) throw invalid("password", "no failover credentials are configured");
  return { settings, peer: deps.peerFor(settings, credentials) };
}

/**
 * `GET /api/failover/drift`: every difference counted as drift or pending, the first MAX_LISTED
 * of each listed by domain.
 */
export async function verify(deps: VerifyDeps, target?: FailoverSettings): Promise<DriftReport> {
  const now = deps.now ?? Date.now;
  const started = now();
  const byDomain = new Map<string | null, DomainDrift>();
  const entryOf = (domain: string | null) => {
    const entry = byDomain.get(domain) ?? {
      domain,
      missing: [],
      extra: [],
      different: [],
      pending: [],
    };
    byDomain.set(domain, entry);
    return entry;
  };
  const carried = await carriedBySync(deps, target);
  let differences = 0;
  let pending = 0;
  await compare(
    deps,
    async (domain, difference) => {
      const verdict = await judge(deps, difference, carried);
      if (verdict === "in step") return;
      if (verdict === "pending") {
        pending += 1;
        if (pending <= MAX_LISTED) entryOf(domain).pending.push(differenceId(difference));
        return;
      }
      differences += 1;
      if (differences > MAX_LISTED) return;
      const entry = entryOf(domain);
      if (difference.kind === "extra") entry.extra.push(itemId(difference.theirs));
      else if (difference.kind === "missing") entry.missing.push(itemId(difference.item));
      else entry.different.push({ id: itemId(difference.item), fields: difference.fields });
    },
    target,
  );
  return {
    checkedAt: new Date(started).toISOString(),
    durationMs: now() - started,
    differences,
    pending,
    domains: [...byDomain.values()].sort((a, b) => ((a.domain ?? "") < (b.domain ?? "") ? -1 : 1)),
    truncated: differences > MAX_LISTED || pending > MAX_LISTED,
  };
}

const differenceId = (difference: Difference) =>
  itemId(difference.kind === "extra" ? difference.theirs : difference.item);

/** Production's version and the failover's of a difference's item (undefined: no record). */
function versionsOf(difference: Difference) {
  return { ours: difference.item?.version, theirs: difference.theirs?.version };
}

/**
 * R21: a rule saying whether automatic sync still carries production's version `ours` of an
 * item the failover holds at `theirs`: it is newer, and sync holds changes back (queued, in
 * flight, or suspended with its backlog kept) or it was written within the settle window.
 * Nothing is carried when automatic sync is off, or when verify targets other settings
 * (failback compares with sync off).
 */
async function carriedBySync(deps: VerifyDeps, target?: FailoverSettings) {
  const settings = await deps.failoverSettings.get();
  if (target || !settings.enabled || !settings.autoSync)
    return (_ours?: number, _theirs?: number) => false;
  const [state, depths] = await Promise.all([deps.status.state(), deps.queue.depths()]);
  const holding = state.state === "suspended" || depths.queued + depths.inFlight > 0;
  const now = deps.now ?? Date.now;
  return (ours?: number, theirs?: number) =>
    ours !== undefined &&
    ours > (theirs ?? 0) &&
    (holding || now() - versionTimeMs(ours) < VERIFY_SETTLE_MS);
}

/**
 * Pending or drift. What looks like drift is re-checked once: production's record is read
 * again, as it may have changed while the two sides were read. Changed, it is judged again,
 * or found in step when the failover already holds that version.
 */
async function judge(
  deps: VerifyDeps,
  difference: Difference,
  carried: (ours?: number, theirs?: number) => boolean,
): Promise<"pending" | "drift" | "in step"> {
  const { ours, theirs } = versionsOf(difference);
  if (carried(ours, theirs)) return "pending";
  const key = difference.kind === "extra" ? difference.theirs : difference.item;
  const now = (await deps.store.get({ pk: key.pk, sk: key.sk }))?.version;
  if (now === ours) return "drift";
  if (now !== undefined && now === theirs) return "in step";
  return carried(now, theirs) ? "pending" : "drift";
}

/** A difference repair did not send: the failover's side of it breaks the rules a received item keeps. */
export interface RefusedRepair {
  readonly domain: string | null;
  readonly id: string;
  readonly reason: string;
}

/**
 * `POST /api/failover/repair` (R21): each difference is written again on production with a
 * version above both sides' (production's record, or a tombstone for an extra item), so the
 * stream carries exactly those through automatic sync under the version rule. No wipe. The
 * failover's versions are held to the skew bound (R8): one from further ahead is `refused`
 * (the first MAX_LISTED listed), and lifts nothing; a full sync replaces such an item.
 */
export async function repair(
  deps: VerifyDeps,
): Promise<{ repairId: string; items: number; refused: RefusedRepair[] }> {
  const settings = await deps.failoverSettings.get();
  if (!settings.enabled || !settings.autoSync) {
    throw conflict(
      "repair sends the differences through automatic sync: turn it on (autoSync: true), or run a full sync",
    );
  }
  let items = 0;
  const refused: RefusedRepair[] = [];
  await compare(deps, async (domain, difference) => {
    const outcome = await resend(deps, difference);
    if (outcome === "written") items += 1;
    else if (outcome !== "moved" && refused.length < MAX_LISTED) {
      const id = itemId(difference.kind === "extra" ? difference.theirs : difference.item);
      refused.push({ domain, id, reason: outcome.refused });
    }
  });
  return { repairId: randomUUID(), items, refused };
}

/**
 * Writes one difference again: `written`, `moved` when production changed it meanwhile (that
 * change flows), or why the failover's side of it is refused.
 */
async function resend(
  deps: VerifyDeps,
  difference: Difference,
): Promise<"written" | "moved" | { readonly refused: string }> {
  const now = (deps.now ?? Date.now)();
  const above = (...versions: number[]) => deps.clock.next(Math.max(...versions));
  try {
    if (difference.kind === "extra") {
      const { theirs } = difference;
      // Only the key, kind, id and version of the failover's item are used, once they prove consistent.
      const reason = problem({ ...theirs, deleted: true }, now);
      if (reason) return { refused: reason };
      const ours = await deps.store.get(theirs);
      if (ours && !ours.deleted) return "moved";
      const version = above(ours?.version ?? 0, theirs.version);
      await deps.store.write(tombstone(ours ?? theirs, version, deps.serverId, now), {
        expectedVersion: ours?.version,
      });
    } else {
      const { item } = difference;
      // Above the failover's record, a tombstone too: a lower version would be ignored there.
      const theirs = difference.theirs?.version ?? 0;
      const reason = versionProblem(theirs, now);
      if (reason) return { refused: reason };
      await deps.store.write(
        { ...item, version: above(item.version, theirs), origin: deps.serverId, updatedAt: now },
        { expectedVersion: item.version },
      );
    }
    return "written";
  } catch (error) {
    if (error instanceof WriteConflict) return "moved";
    throw error;
  }
}
