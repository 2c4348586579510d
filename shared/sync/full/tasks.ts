import type { FailoverSettingsService } from "../../config/failover-settings.ts";
import type { MetricSink } from "../../metrics.ts";
import { type ConfigItem, isReplicated } from "../../model/items.ts";
import type { FailoverSettings } from "../../model/schemas.ts";
import type {
  BulkStore,
  ConfigStore,
  Credentials,
  EventPublisher,
  FullSyncPeer,
} from "../../ports.ts";
import type { SyncEventDetail } from "../events.ts";
import { peerName } from "../peer.ts";
import { FULL_SYNC_LOCK, RunLifecycle, type RunPorts, reasonOf, type TaskError } from "../run.ts";
import { toFailover } from "../transform.ts";
import { addDigests, EMPTY_DIGEST, recordDigest } from "./digest.ts";
import { MAX_ITEMS } from "./receive.ts";
import { FullSyncRecords, type FullSyncRun, type SegmentPhase } from "./records.ts";

/** How a full sync is cut up; the state machine definition and the benchmark read these. */
export const fullSyncLimits = {
  /** Parallel scan segments = the Map's iterations; the Map runs them all at once. */
  segments: 4,
  /** Records read per Scan page and sent per `/api/sync/full/items` call. */
  pageSize: 100,
  /** A Task returns its cursor after this long and the state machine calls it again. */
  taskBudgetMs: 60_000,
  /** The state machine's execution timeout. */
  executionTimeoutMs: 2 * 3600_000,
} as const;

/** What the production side of a full sync needs. */
export interface FullSyncDeps {
  readonly serverId: string;
  readonly store: ConfigStore;
  readonly bulk: BulkStore;
  readonly failoverSettings: FailoverSettingsService;
  readonly events: EventPublisher;
  readonly metrics: MetricSink;
  readonly peerFor: (settings: FailoverSettings, credentials: Credentials) => FullSyncPeer;
  readonly now?: () => number;
  readonly limits?: Partial<typeof fullSyncLimits>;
}

/** A refusal or a failed check: the run ends with Success: false and this reason. */
export class FullSyncError extends Error {
  constructor(name: "FullSyncRefused" | "LockHeld" | "LockLost" | "VerifyFailed", message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * A full sync's lifecycle (R11): one run at a time; every Task renews the lock and sends its
 * fencing token, and a run whose lock lapsed stops before it sends the failover anything more.
 */
export const fullSyncRun = (ports: RunPorts) =>
  new RunLifecycle(ports, {
    lockName: FULL_SYNC_LOCK,
    lost: (syncId) =>
      new FullSyncError(
        "LockLost",
        `full sync ${syncId} no longer holds the lock (it lapsed, so another run may have started)`,
      ),
  });

/** The state machine's state after Check. */
export interface RunInput {
  readonly syncId: string;
  readonly startedAt: string;
  readonly totalSegments: number;
  readonly segments: number[];
  readonly startAfterSync: boolean;
}

/** One Map iteration's state: a scan segment and what was done with it so far. */
export interface SegmentState {
  readonly syncId: string;
  readonly segment: number;
  readonly totalSegments: number;
  readonly cursor?: string;
  readonly done: boolean;
  readonly records: number;
  readonly items: number;
  readonly domains: number;
  readonly digest: string;
}

export interface StartState {
  readonly cursor?: string;
  readonly started: number;
  readonly done: boolean;
}

/** The Task handlers of the state machine, one per kind of step. */
export function fullSyncTasks(deps: FullSyncDeps) {
  const now = deps.now ?? Date.now;
  const limits = { ...fullSyncLimits, ...deps.limits };
  const records = new FullSyncRecords(deps.store, now);
  const lifecycle = fullSyncRun(deps);

  async function peer(): Promise<{ settings: FailoverSettings; peer: FullSyncPeer }> {
    const settings = await deps.failoverSettings.get();
    if (!settings.enabled || settings.host === undefined)
      throw new FullSyncError("FullSyncRefused", "no failover is configured");
    if (settings.autoSync) {
      throw new FullSyncError(
        "FullSyncRefused",
        "automatic synchronization is on; a full sync runs only while it is off (R11)",
      );
    }
    const credentials = await deps.failoverSettings.peerCredentials();
    if (!credentials)
      throw new FullSyncError("FullSyncRefused", "no failover credentials are configured");
    return { settings, peer: deps.peerFor(settings, credentials) };
  }

  /** Calls `step` page after page until the segment is done or the Task's time is up. */
  async function segmentLoop(
    phase: SegmentPhase,
    state: SegmentState,
    step: (cursor: string | undefined) => Promise<{
      cursor?: string;
      records: number;
      items: number;
      domains: number;
      digest: string;
    }>,
  ): Promise<SegmentState> {
    const deadline = now() + limits.taskBudgetMs;
    let current = state;
    do {
      const page = await step(current.cursor);
      const { cursor: _old, ...rest } = current;
      current = {
        ...rest,
        ...(page.cursor ? { cursor: page.cursor } : {}),
        done: page.cursor === undefined,
        records: current.records + page.records,
        items: current.items + page.items,
        domains: current.domains + page.domains,
        digest: addDigests(current.digest, page.digest),
      };
      await records.progress(state.syncId, {
        phase,
        segment: state.segment,
        records: current.records,
        items: current.items,
        domains: current.domains,
        done: current.done,
      });
    } while (!current.done && now() < deadline);
    return current;
  }

  const segmentBody = (state: SegmentState, fence: number, cursor: string | undefined) => ({
    origin: deps.serverId,
    syncId: state.syncId,
    fence,
    segment: state.segment,
    totalSegments: state.totalSegments,
    ...(cursor ? { cursor } : {}),
  });

  return {
    /** Is the failover there, the right version, not syncing out (R18), and is sync off (R11)? */
    async check(input: { syncId: string }): Promise<RunInput> {
      const existing = await records.get(input.syncId);
      const startedAt = existing?.startedAt ?? new Date(now()).toISOString();
      if (!existing) {
        // Started without the API (e.g. from the Step Functions console): record it here.
        await records.put({
          syncId: input.syncId,
          state: "running",
          step: "check",
          startedAt,
          primary: deps.serverId,
        });
        await records.setLast(input.syncId);
      }
      const { settings, peer: client } = await peer();
      const hello = await client.hello();
      if (hello.serverId === deps.serverId)
        throw new FullSyncError("FullSyncRefused", "the failover is this server (R18)");
      if (hello.autoSync) {
        throw new FullSyncError(
          "FullSyncRefused",
          `the failover ${hello.serverId} automatically syncs to a failover of its own, so it takes no sync (R18)`,
        );
      }
      let domainsTotal = 0;
      let cursor: string | undefined;
      do {
        const page = await deps.store.listDomains({ limit: 1000, ...(cursor ? { cursor } : {}) });
        domainsTotal += page.items.length;
        cursor = page.cursor;
      } while (cursor);
      await records.update(input.syncId, {
        step: "check",
        failover: peerName(settings),
        startAfterSync: settings.startAfterSync,
        domainsTotal,
      });
      return {
        syncId: input.syncId,
        startedAt,
        totalSegments: limits.segments,
        segments: Array.from({ length: limits.segments }, (_, index) => index),
        startAfterSync: settings.startAfterSync,
      };
    },

    /** One run at a time (R11); the API took the lock already when it started this run. */
    async lock(input: { syncId: string }): Promise<void> {
      const taken = await lifecycle.acquire(input.syncId);
      if (!taken.ok)
        throw new FullSyncError("LockHeld", `full sync ${taken.holder} is running (R11)`);
      await records.update(input.syncId, { step: "lock" });
    },

    /** Deletes the failover's replicated records, one scan segment (R12; its LOCAL state stays, R3). */
    async wipeSegment({ state }: { state: SegmentState }): Promise<SegmentState> {
      const [{ peer: client }, token] = await Promise.all([peer(), lifecycle.fence(state.syncId)]);
      if (state.segment === 0 && !state.cursor)
        await records.update(state.syncId, { step: "wipe" });
      return segmentLoop("wipe", state, async (cursor) => {
        const answer = (await client.call(
          "POST",
          "/api/sync/full/wipe",
          segmentBody(state, token, cursor),
        )) as { deleted: number; cursor?: string };
        return { ...answer, records: answer.deleted, items: 0, domains: 0, digest: EMPTY_DIGEST };
      });
    },

    /**
     * Copies one scan segment of production: every replicated record, tombstones included and
     * versions kept (so that a held automatic change older than the copy is stale, R12), with
     * IP substitution (R14) and everything stopped (R13; started at the end if asked).
     */
    async copySegment({ state }: { state: SegmentState }): Promise<SegmentState> {
      const [{ settings, peer: client }, token] = await Promise.all([
        peer(),
        lifecycle.fence(state.syncId),
      ]);
      if (state.segment === 0 && !state.cursor)
        await records.update(state.syncId, { step: "copy" });
      const rules = { ipSubstitutions: settings.ipSubstitutions, startAfterSync: false };
      const pageSize = Math.min(limits.pageSize, MAX_ITEMS);
      // The next page is read while the current one is sent.
      let next: ReturnType<BulkStore["scan"]> | undefined;
      const read = (cursor: string | undefined) => {
        const page = deps.bulk.scan(state.segment, state.totalSegments, {
          limit: pageSize,
          ...(cursor ? { cursor } : {}),
        });
        // A read-ahead that fails after the Task failed for another reason is not news.
        page.catch(() => undefined);
        return page;
      };
      const result = await segmentLoop("copy", state, async (cursor) => {
        const page = await (next ?? read(cursor));
        next = page.cursor ? read(page.cursor) : undefined;
        const items = page.items
          .filter(isReplicated)
          .map((record) => toFailover(record as unknown as ConfigItem, rules));
        if (items.length > 0) {
          await client.call("POST", "/api/sync/full/items", {
            origin: deps.serverId,
            syncId: state.syncId,
            fence: token,
            items,
          });
        }
        const live = items.filter((item) => !item.deleted);
        return {
          ...(page.cursor ? { cursor: page.cursor } : {}),
          records: items.length,
          items: live.length,
          domains: live.filter((item) => item.kind === "domain").length,
          digest: items.length ? addDigests(...items.map(recordDigest)) : EMPTY_DIGEST,
        };
      });
      // A page read ahead past the Task's time is read again by the next call.
      return result;
    },

    /** Counts and digests what the failover now holds, one scan segment. */
    async verifySegment({ state }: { state: SegmentState }): Promise<SegmentState> {
      const [{ peer: client }, token] = await Promise.all([peer(), lifecycle.fence(state.syncId)]);
      if (state.segment === 0 && !state.cursor)
        await records.update(state.syncId, { step: "verify" });
      return segmentLoop("verify", state, async (cursor) => {
        const answer = (await client.call(
          "POST",
          "/api/sync/full/digest",
          segmentBody(state, token, cursor),
        )) as { records: number; items: number; digest: string; cursor?: string };
        return { ...answer, domains: 0 };
      });
    },

    /** The failover holds exactly what was copied: same count, same digest. */
    async compare({
      state,
    }: {
      state: { syncId: string; copied: SegmentState[]; verified: SegmentState[] };
    }) {
      const total = (segments: SegmentState[]) => ({
        records: segments.reduce((acc, s) => acc + s.records, 0),
        items: segments.reduce((acc, s) => acc + s.items, 0),
        digest: addDigests(...segments.map((s) => s.digest)),
      });
      const copied = total(state.copied);
      const held = total(state.verified);
      if (copied.records !== held.records || copied.digest !== held.digest) {
        throw new FullSyncError(
          "VerifyFailed",
          `the failover holds ${held.records} records (digest ${held.digest}) but ${copied.records} were copied (digest ${copied.digest})`,
        );
      }
      await records.update(state.syncId, {
        items: copied.items,
        records: copied.records,
        digest: copied.digest,
      });
      return copied;
    },

    /** startAfterSync (R13): start the failover's domains and web services, page by page. */
    async startRunState({
      state,
    }: {
      state: { syncId: string; start?: StartState };
    }): Promise<StartState> {
      const [{ peer: client }, token] = await Promise.all([peer(), lifecycle.fence(state.syncId)]);
      await records.update(state.syncId, { step: "start" });
      const deadline = now() + limits.taskBudgetMs;
      let cursor = state.start?.cursor;
      let started = state.start?.started ?? 0;
      do {
        const answer = (await client.call("POST", "/api/sync/full/start", {
          origin: deps.serverId,
          syncId: state.syncId,
          fence: token,
          ...(cursor ? { cursor } : {}),
        })) as { started: number; cursor?: string };
        started += answer.started;
        cursor = answer.cursor;
      } while (cursor && now() < deadline);
      return { ...(cursor ? { cursor } : {}), started, done: cursor === undefined };
    },

    /** Success: record it, publish the event (R16), release the lock. */
    async finish({ state }: { state: { syncId: string } }) {
      await lifecycle.end(state.syncId, async () =>
        runEvent(
          deps,
          await records.update(state.syncId, {
            state: "succeeded",
            step: "finish",
            finishedAt: new Date(now()).toISOString(),
          }),
        ),
      );
      return records.view(state.syncId);
    },

    /** Any failure (the Catch of every state): Success: false with the reason, lock released. */
    async fail(input: { syncId: string; error?: TaskError }) {
      await failRun(deps, input.syncId, reasonOf(input.error));
      return records.view(input.syncId);
    },
  };
}

export type FullSyncTasks = ReturnType<typeof fullSyncTasks>;

/** What recording a run's end needs (the monitor has it too). */
export type RunEndDeps = Pick<
  FullSyncDeps,
  "serverId" | "store" | "bulk" | "failoverSettings" | "events" | "metrics" | "now"
>;

/** The run's `Failover Synchronization` event (R16). */
async function runEvent(deps: RunEndDeps, run: FullSyncRun): Promise<SyncEventDetail> {
  const now = deps.now ?? Date.now;
  return {
    Success: run.state === "succeeded",
    Mode: "on-demand",
    Primary: deps.serverId,
    Failover: run.failover ?? peerName(await deps.failoverSettings.get()),
    StartedAt: run.startedAt,
    FinishedAt: run.finishedAt ?? new Date(now()).toISOString(),
    Items: run.items ?? 0,
    SyncId: run.syncId,
    ...(run.reason ? { Reason: run.reason } : {}),
  };
}

/** Records the run as failed at its current step, announces it (Success: false), releases its lock. */
export async function failRun(deps: RunEndDeps, syncId: string, reason: string) {
  const now = deps.now ?? Date.now;
  const records = new FullSyncRecords(deps.store, now);
  await fullSyncRun(deps).end(syncId, async () => {
    const current = await records.get(syncId);
    const failed: FullSyncRun = {
      ...(current ?? {
        syncId,
        step: "starting",
        startedAt: new Date(now()).toISOString(),
        primary: deps.serverId,
      }),
      state: "failed",
      finishedAt: new Date(now()).toISOString(),
      reason: `${current?.step ?? "starting"}: ${reason}`,
    };
    await records.put(failed);
    return runEvent(deps, failed);
  });
}
