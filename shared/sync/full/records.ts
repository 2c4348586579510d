import type { ConfigStore } from "../../ports.ts";
import { RunLock } from "../run.ts";

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
  /**
   * Production's server id. Named as stored: records of earlier runs (kept 90 days) hold it
   * under this name, and `GET /api/failover/syncs/{id}` shows it so.
   */
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
export function fullSyncHolder(
  store: ConfigStore,
  now: () => number = Date.now,
): Promise<string | undefined> {
  return new RunLock(store, now).holder();
}
