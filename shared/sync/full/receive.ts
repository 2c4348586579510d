import { z } from "zod";
import type { FailoverSettingsService } from "../../config/failover-settings.ts";
import { conflict, fromZodError, invalid } from "../../errors.ts";
import { type ConfigItem, type ItemKey, isReplicated, webKey } from "../../model/items.ts";
import type { BulkStore, ConfigStore } from "../../ports.ts";
import { changeSchema, MAX_CLOCK_SKEW_MS, problem } from "../apply.ts";
import { addDigests, EMPTY_DIGEST, recordDigest } from "./digest.ts";

/** The failover's side of a full sync: `/api/sync/full/...` (R12). */
export interface FullReceiveDeps {
  readonly serverId: string;
  readonly store: ConfigStore;
  readonly bulk: BulkStore;
  readonly failoverSettings: FailoverSettingsService;
  readonly now?: () => number;
}

/** Items per `/api/sync/full/items` call; records per wipe page (deletes) and digest page (reads). */
export const MAX_ITEMS = 500;
const WIPE_PAGE = 100;
const SCAN_PAGE = 1000;
const START_PAGE = 100;

const base = {
  origin: z.string().min(1).max(256),
  syncId: z.string().min(1).max(80),
  /** The run's fencing token (when it took production's lock): see `admit`. */
  fence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
};
const scanSegment = z.strictObject({
  segment: z.number().int().min(0),
  totalSegments: z.number().int().min(1).max(1000),
  cursor: z.string().max(4096).optional(),
});
const segmentInRange = <T extends z.ZodType<{ segment: number; totalSegments: number }>>(
  schema: T,
) =>
  schema.refine((request) => request.segment < request.totalSegments, {
    path: ["segment"],
    message: "must be less than totalSegments",
  });
/** A request for one page of one scan segment. */
export const segmentRequest = segmentInRange(scanSegment);
const fullSyncSegment = segmentInRange(scanSegment.extend(base));
const itemsRequest = z.strictObject({
  ...base,
  items: z.array(changeSchema.shape.item).max(MAX_ITEMS),
});
const startRequest = z.strictObject({ ...base, cursor: z.string().max(4096).optional() });

/** The body validated by `schema`, or a 400 naming the first bad field. */
export function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data;
}

const FENCE = "fullsync/fence";
/** A fence as a time, when it is one (a fence kept before fences were bounded may be anything). */
const timeOf = (fence: number) =>
  fence <= 8.64e15 ? new Date(fence).toISOString() : `${fence} ms since 1970`;
interface Fence {
  /** The newest fencing token seen (putLocalIf's revision); 0 when none, or cleared. */
  readonly rev: number;
  readonly syncId: string;
}

/**
 * Whether this server takes a full sync's request. R18: a server that syncs automatically to a
 * failover of its own takes no sync. R11: only the newest run writes — a run whose lock lapsed
 * on production (and whose place another run took) is refused, so its late writes cannot land
 * in the middle of the newer copy. A `write` keeps the request's token as the newest; a read
 * keeps nothing. R25: a token is the time production took its lock, so one more than
 * MAX_CLOCK_SKEW_MS ahead of this server's clock is refused: it would refuse every run until then.
 */
async function admit(
  deps: FullReceiveDeps,
  request: { origin: string; syncId: string; fence: number },
  access: "read" | "write",
) {
  const now = (deps.now ?? Date.now)();
  if (request.fence > now + MAX_CLOCK_SKEW_MS) {
    throw invalid(
      "fence",
      `is more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead of this server's clock (it is the time production took its lock, in ms)`,
    );
  }
  if (request.origin === deps.serverId) throw conflict("a server cannot sync to itself (R18)");
  const settings = await deps.failoverSettings.get();
  if (settings.enabled && settings.autoSync) {
    throw conflict(
      `${deps.serverId} automatically syncs to its own failover, so it takes no sync (R18)`,
    );
  }
  for (;;) {
    const current = await deps.store.getLocal<Fence>(FENCE);
    if (current && current.rev > request.fence) {
      throw conflict(
        `full sync ${request.syncId} was overtaken by full sync ${current.syncId}, which took production's lock later (${timeOf(current.rev)}); its writes are refused (R11). If no such run is going on (a clock that was ahead), clear the fence here: \`mft-failover failover clear-fence\``,
      );
    }
    if (access === "read" || current?.rev === request.fence) return;
    const next: Fence = { rev: request.fence, syncId: request.syncId };
    if (await deps.store.putLocalIf(FENCE, next, current?.rev)) return;
  }
}

/**
 * `DELETE /api/failover/fence`: forgets the newest fencing token this server has seen, so a
 * full sync refused as overtaken (409) is taken again. For a token no run will pass (from a
 * clock that was ahead); while a run that was really overtaken still goes on, it could write.
 */
export async function clearFence(deps: Pick<FullReceiveDeps, "store">) {
  for (;;) {
    const current = await deps.store.getLocal<Fence>(FENCE);
    if (!current?.rev) return { cleared: null };
    const cleared: Fence = { rev: 0, syncId: "" };
    if (await deps.store.putLocalIf(FENCE, cleared, current.rev)) {
      return {
        cleared: {
          syncId: current.syncId,
          fence: current.rev,
          lockedAt: timeOf(current.rev),
        },
      };
    }
  }
}

/** `POST /api/sync/full/wipe`: removes one page of one scan segment's replicated records (R3: never LOCAL). */
export async function wipePage(deps: FullReceiveDeps, body: unknown) {
  const request = parse(fullSyncSegment, body);
  // Read first: a bad cursor is refused before the fence is taken.
  const page = await deps.bulk.scan(request.segment, request.totalSegments, {
    limit: WIPE_PAGE,
    ...(request.cursor ? { cursor: request.cursor } : {}),
  });
  await admit(deps, request, "write");
  const keys: ItemKey[] = page.items.filter(isReplicated).map(({ pk, sk }) => ({ pk, sk }));
  await deps.bulk.deleteAll(keys);
  return { deleted: keys.length, ...(page.cursor ? { cursor: page.cursor } : {}) };
}

/** `POST /api/sync/full/items`: stores production's items as they are, versions included. */
export async function putItems(deps: FullReceiveDeps, body: unknown) {
  const request = parse(itemsRequest, body);
  const items = request.items as ConfigItem[];
  const now = (deps.now ?? Date.now)();
  const keys = new Set<string>();
  items.forEach((item, index) => {
    const reason = problem(item, now);
    if (reason) throw invalid(`items[${index}]`, `${item.pk} ${item.sk}: ${reason}`);
    // One write per key: production sends each record once.
    const key = `${item.pk}\u0000${item.sk}`;
    if (keys.has(key)) throw invalid(`items[${index}]`, `${item.pk} ${item.sk}: sent twice`);
    keys.add(key);
  });
  await admit(deps, request, "write");
  await deps.bulk.putAll(items);
  return { written: items.length };
}

/** `POST /api/sync/full/digest`: count and digest of one page of one scan segment. */
export async function digestPage(deps: FullReceiveDeps, body: unknown) {
  const request = parse(fullSyncSegment, body);
  await admit(deps, request, "read");
  const page = await deps.bulk.scan(request.segment, request.totalSegments, {
    limit: SCAN_PAGE,
    ...(request.cursor ? { cursor: request.cursor } : {}),
  });
  const records = page.items.filter(isReplicated);
  return {
    records: records.length,
    items: records.filter((record) => !record.deleted).length,
    digest: records.length ? addDigests(...records.map(recordDigest)) : EMPTY_DIGEST,
    ...(page.cursor ? { cursor: page.cursor } : {}),
  };
}

/**
 * `POST /api/sync/full/start`: starts one page of domains (and, on the first page, enables web
 * services), for `startAfterSync` (R13). Run state is local (R2): the version stays.
 */
export async function startPage(deps: FullReceiveDeps, body: unknown) {
  const request = parse(startRequest, body);
  const page = await deps.store.listDomains({
    limit: START_PAGE,
    ...(request.cursor ? { cursor: request.cursor } : {}),
  });
  await admit(deps, request, "write");
  let started = 0;
  for (const domain of page.items) if (await setRunning(deps.store, domain)) started++;
  if (!request.cursor) await setRunning(deps.store, webKey);
  return { started, ...(page.cursor ? { cursor: page.cursor } : {}) };
}

/** Starts a stopped domain or enables stopped web services; true when it changed. */
export async function setRunning(store: ConfigStore, key: ItemKey): Promise<boolean> {
  const current = await store.get(key);
  if (!current || current.deleted || current.running === true) return false;
  return store.setRunState(key, true);
}
