import { randomUUID } from "node:crypto";
import { AppError, conflict, invalid, notFound } from "../../errors.ts";
import type { ConfigStore, RunStarter } from "../../ports.ts";
import { peerName } from "../peer.ts";
import { RUN_LOCK_TTL_MS } from "../run.ts";
import { FullSyncRecords, fullSyncHolder, lockHolderText } from "./records.ts";
import { failRun, fullSyncRun, type RunEndDeps } from "./tasks.ts";

/** What the admin API needs to start and show full syncs. */
export interface FullSyncApiDeps extends RunEndDeps {
  /** Absent where no state machine is wired: the route then answers 501. */
  readonly fullSyncRunner?: RunStarter;
  readonly now?: () => number;
}

const AUTO_SYNC_ON =
  "automatic synchronization is on; turn it off (autoSync: false) to run a full sync (R11)";

/**
 * `POST /api/failover/synchronize` (R11, R12): refuses while automatic sync is on or a run is
 * active (409) or when no failover is configured (400); else takes the lock and starts a run.
 */
export async function requestFullSync(deps: FullSyncApiDeps): Promise<{ syncId: string }> {
  const now = deps.now ?? Date.now;
  const settings = await deps.failoverSettings.get();
  if (!settings.enabled || settings.host === undefined)
    throw invalid("failover", "no failover is configured (enabled and host are required)");
  if (!(await deps.failoverSettings.peerCredentials()))
    throw invalid("failover", "no failover credentials are configured");
  if (settings.autoSync) throw conflict(AUTO_SYNC_ON);
  if (!deps.fullSyncRunner)
    throw new AppError(501, "not_implemented", "no full-sync state machine is configured here");
  await endLapsedRun(deps);
  const syncId = randomUUID();
  const lifecycle = fullSyncRun(deps);
  const taken = await lifecycle.acquire(syncId);
  if (!taken.ok) throw conflict(`${lockHolderText(taken.holder)}; wait for it to finish`);
  // Turning automatic sync on holds this lock until it has saved the settings: read now, they
  // say whether it did before this run took the lock (R11).
  if ((await deps.failoverSettings.get()).autoSync) {
    await lifecycle.release(syncId);
    throw conflict(AUTO_SYNC_ON);
  }
  const records = new FullSyncRecords(deps.store, now);
  // With the lock free, a run still marked running was cut off (its execution timed out or was
  // stopped) before it could record its end: it failed.
  const previous = await records.lastRun();
  if (previous?.state === "running") {
    await records.update(previous.syncId, {
      state: "failed",
      finishedAt: new Date(now()).toISOString(),
      reason: `${previous.step}: the run ended without recording its result (its execution timed out or was stopped)`,
    });
  }
  const startedAt = new Date(now()).toISOString();
  await records.put({
    syncId,
    state: "running",
    step: "starting",
    startedAt,
    primary: deps.serverId,
    failover: peerName(settings),
  });
  await records.setLast(syncId);
  try {
    await deps.fullSyncRunner.start(syncId);
  } catch (error) {
    const reason = `starting: ${error instanceof Error ? error.message : String(error)}`;
    await records.update(syncId, {
      state: "failed",
      finishedAt: new Date(now()).toISOString(),
      reason,
    });
    await lifecycle.release(syncId);
    throw error;
  }
  return { syncId };
}

/** `GET /api/failover/syncs/{syncId}`: state, step, progress, result. */
export async function fullSyncView(deps: Pick<FullSyncApiDeps, "store" | "now">, syncId: string) {
  const view = await new FullSyncRecords(deps.store, deps.now).view(syncId);
  if (!view) throw notFound(`full sync ${syncId}`);
  return view;
}

/** The latest full sync for the status (R20), or null. */
export function lastFullSync(store: ConfigStore) {
  return new FullSyncRecords(store).last();
}

/**
 * R11: the latest run, still recorded as running, whose lock lapsed (no Task renewed it) stopped
 * without recording its end: its execution timed out or was stopped, so no Catch ran. It failed:
 * recorded and announced (Success: false). The monitor looks every minute; a new run looks first.
 */
export async function endLapsedRun(deps: RunEndDeps): Promise<string | undefined> {
  const now = deps.now ?? Date.now;
  const run = await new FullSyncRecords(deps.store, now).lastRun();
  if (run?.state !== "running") return undefined;
  // A run started from the Step Functions console records itself before it takes the lock.
  if (now() - Date.parse(run.startedAt) < RUN_LOCK_TTL_MS) return undefined;
  if ((await fullSyncHolder(deps.store, now)) === run.syncId) return undefined;
  await failRun(
    deps,
    run.syncId,
    "the run stopped without recording its end (its execution timed out or was stopped)",
  );
  return run.syncId;
}

/**
 * Local mode: no execution survives a restart, so a run still marked running when the runtime
 * starts was interrupted. It is marked failed and its lock released (a re-run repairs the copy).
 */
export async function recoverInterruptedRun(deps: RunEndDeps) {
  const run = await new FullSyncRecords(deps.store, deps.now).lastRun();
  if (run?.state === "running") {
    await failRun(deps, run.syncId, "interrupted (the local runtime stopped); run it again");
  }
}
