import type { ConfigStore } from "../../ports.ts";

export type FullSyncState = "running" | "succeeded" | "failed";
export type FullSyncStep =
  | "starting"
  | "check"
  | "lock"
  | "wipe"
  | "copy"
  | "verify"
  | "start"
  | "finish";
export type SegmentPhase = "wipe" | "copy" | "verify";

/** One full sync as recorded on production (local state, R3): what it is doing and how it ended. */
export interface FullSyncRun {
  readonly syncId: string;
  readonly state: FullSyncState;
  readonly step: FullSyncStep;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly primary: string;
  readonly failover?: string;
  readonly startAfterSync?: boolean;
  /** Live domains on production when the run began. */
  readonly domainsTotal?: number;
  /** Live items and all records (tombstones included) copied, once verified. */
  readonly items?: number;
  readonly records?: number;
  readonly digest?: string;
  readonly reason?: string;
}

/** What one scan segment of one phase has done; each segment writes only its own record. */
export interface SegmentProgress {
  readonly phase: SegmentPhase;
  readonly segment: number;
  readonly records: number;
  readonly items: number;
  readonly domains: number;
  readonly done: boolean;
}

interface Lock {
  readonly rev: number;
  readonly holder: string | null;
  /** Epoch ms after which a lock left by a crashed run no longer counts; renewed by each Task. */
  readonly expiresAt: number;
  /**
   * When the holder took it (epoch ms): the run's fencing token. The failover refuses the writes
   * of a run whose token is older than one it has seen, so a lapsed run cannot write late.
   */
  readonly acquiredAt?: number;
}

const LOCK = "fullsync/lock";
const LAST = "fullsync/last";
const run = (syncId: string) => `fullsync/run/${syncId}`;
const progressPrefix = (syncId: string) => `fullsync/progress/${syncId}/`;
/** Runs are kept for 90 days (TTL), their per-segment progress as long. */
const KEEP_SECONDS = 90 * 86_400;

/** Reading full-sync records needs only the ConfigStore (the status route uses this). */
export class FullSyncRecords {
  constructor(
    protected readonly store: ConfigStore,
    protected readonly now: () => number = Date.now,
  ) {}

  get(syncId: string): Promise<FullSyncRun | undefined> {
    return this.store.getLocal<FullSyncRun>(run(syncId));
  }

  async put(value: FullSyncRun): Promise<void> {
    const expiresAt = Math.floor(this.now() / 1000) + KEEP_SECONDS;
    await this.store.putLocal(run(value.syncId), value, { expiresAt });
  }

  /** Read-modify-write: only the sequential steps of one run write its record. */
  async update(syncId: string, patch: Partial<FullSyncRun>): Promise<FullSyncRun> {
    const current = await this.get(syncId);
    if (!current) throw new Error(`full sync ${syncId} has no record`);
    const next = { ...current, ...patch };
    await this.put(next);
    return next;
  }

  async setLast(syncId: string): Promise<void> {
    await this.store.putLocal(LAST, syncId);
  }

  async progress(syncId: string, value: SegmentProgress): Promise<void> {
    const name = `${progressPrefix(syncId)}${value.phase}/${String(value.segment).padStart(4, "0")}`;
    await this.store.putLocal(name, value, {
      expiresAt: Math.floor(this.now() / 1000) + KEEP_SECONDS,
    });
  }

  /** The run with its progress summed over segments: what `GET /api/failover/syncs/{id}` shows. */
  async view(syncId: string) {
    const current = await this.get(syncId);
    if (!current) return undefined;
    const prefix = progressPrefix(syncId);
    const segments = await this.store.listLocal<SegmentProgress>(prefix, prefix, 1000);
    const sum = (phase: SegmentPhase, field: "records" | "items" | "domains") =>
      segments.filter((s) => s.phase === phase).reduce((acc, s) => acc + s[field], 0);
    const finished = current.finishedAt ? Date.parse(current.finishedAt) : this.now();
    return {
      syncId: current.syncId,
      state: current.state,
      step: current.step,
      startedAt: current.startedAt,
      finishedAt: current.finishedAt ?? null,
      durationMs: finished - Date.parse(current.startedAt),
      primary: current.primary,
      failover: current.failover ?? null,
      startAfterSync: current.startAfterSync ?? null,
      domains: { done: sum("copy", "domains"), total: current.domainsTotal ?? null },
      items: { done: sum("copy", "items"), total: current.items ?? null },
      records: {
        wiped: sum("wipe", "records"),
        copied: sum("copy", "records"),
        verified: sum("verify", "records"),
      },
      digest: current.digest ?? null,
      errors: current.reason ? [current.reason] : [],
      ...(current.reason ? { reason: current.reason } : {}),
    };
  }

  /** The latest run's record. */
  async lastRun(): Promise<FullSyncRun | undefined> {
    const syncId = await this.store.getLocal<string>(LAST);
    return syncId ? this.get(syncId) : undefined;
  }

  /** The latest full sync, for the status (R20). */
  async last() {
    const syncId = await this.store.getLocal<string>(LAST);
    return syncId ? ((await this.view(syncId)) ?? null) : null;
  }
}
export type FullSyncView = NonNullable<Awaited<ReturnType<FullSyncRecords["view"]>>>;

/**
 * A one-run-at-a-time lock: a conditional write on a local item. The full sync's (R11) by
 * default; the failback has its own.
 */
export class RunLock {
  constructor(
    private readonly store: ConfigStore,
    private readonly now: () => number = Date.now,
    private readonly name: string = LOCK,
  ) {}

  /** Takes the lock for `syncId` (again, if it already holds it); the holder's id when it cannot. */
  async acquire(
    syncId: string,
    ttlMs: number,
  ): Promise<{ ok: true } | { ok: false; holder: string }> {
    for (;;) {
      const current = await this.store.getLocal<Lock>(this.name);
      if (current?.holder === syncId && current.expiresAt > this.now()) return { ok: true };
      if (current?.holder && current.expiresAt > this.now())
        return { ok: false, holder: current.holder };
      const now = this.now();
      const next: Lock = {
        rev: (current?.rev ?? 0) + 1,
        holder: syncId,
        expiresAt: now + ttlMs,
        acquiredAt: now,
      };
      if (await this.store.putLocalIf(this.name, next, current?.rev)) return { ok: true };
      // Another request wrote in between: look again.
    }
  }

  /**
   * Keeps the lock of a live run (each Task calls this): extends it once less than half of
   * `ttlMs` is left. The run's fencing token, or undefined when it no longer holds the lock.
   */
  async renew(syncId: string, ttlMs: number): Promise<number | undefined> {
    for (;;) {
      const current = await this.store.getLocal<Lock>(this.name);
      if (current?.holder !== syncId || current.expiresAt <= this.now()) return undefined;
      const fence = current.acquiredAt ?? 0;
      if (current.expiresAt - this.now() > ttlMs / 2) return fence;
      const next: Lock = { ...current, rev: current.rev + 1, expiresAt: this.now() + ttlMs };
      if (await this.store.putLocalIf(this.name, next, current.rev)) return fence;
    }
  }

  /** Releases the lock if `syncId` holds it (a failed run must not free another run's lock). */
  async release(syncId: string): Promise<void> {
    for (;;) {
      const current = await this.store.getLocal<Lock>(this.name);
      if (current?.holder !== syncId) return;
      const next: Lock = { rev: current.rev + 1, holder: null, expiresAt: 0 };
      if (await this.store.putLocalIf(this.name, next, current.rev)) return;
    }
  }

  /** The run that holds the lock now, if any. */
  async holder(): Promise<string | undefined> {
    return liveHolder(await this.store.getLocal<Lock>(this.name), this.now());
  }
}

/**
 * What the full-sync lock's holder starts with while automatic sync is being turned on: that
 * holds the lock from its checks to its save, so the two exclude each other (R11).
 */
export const TURNING_ON = "automatic-sync-on/";

/** Who holds the full-sync lock, in words for a 409. */
export const lockHolderText = (holder: string) =>
  holder.startsWith(TURNING_ON)
    ? "automatic sync is being turned on"
    : `full sync ${holder} is running`;

/** The full sync that holds the lock now, if any (reading needs no BulkStore). */
export async function fullSyncHolder(
  store: ConfigStore,
  now: () => number = Date.now,
): Promise<string | undefined> {
  return liveHolder(await store.getLocal<Lock>(LOCK), now());
}

const liveHolder = (lock: Lock | undefined, now: number) =>
  lock?.holder && lock.expiresAt > now ? lock.holder : undefined;
