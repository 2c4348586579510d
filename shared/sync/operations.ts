import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { FailoverSettingsService } from "../config/failover-settings.ts";
import { AppError, conflict, fromZodError, invalid } from "../errors.ts";
import type { FailoverSettings } from "../model/schemas.ts";
import type { HybridClock } from "../model/version.ts";
import type {
  ChangeQueue,
  ConfigStore,
  Credentials,
  ForwardSwitch,
  PeerClient,
  PeerHello,
} from "../ports.ts";
import { type ApplyResult, applyChanges, changeSchema } from "./apply.ts";
import { lastFullSync } from "./full/api.ts";
import { lockHolderText, TURNING_ON } from "./full/records.ts";
import { MAX_PEER_CHANGES, PeerError, SYNC_PROTOCOL } from "./peer.ts";
import { RunLock } from "./run.ts";
import { statusSeries } from "./series.ts";
import { heartbeatMissed, LAG_WINDOW_MS, percentile, type SyncStatusStore } from "./status.ts";
import { lastTakeover } from "./takeover.ts";

/** What the failover module's operations need from one server. */
export interface SyncOperationsDeps {
  readonly serverId: string;
  readonly store: ConfigStore;
  readonly clock: HybridClock;
  readonly failoverSettings: FailoverSettingsService;
  readonly status: SyncStatusStore;
  readonly queue: ChangeQueue;
  readonly forwarding: ForwardSwitch;
  readonly now?: () => number;
  /** A client of the failover; its calls end before `deadline` (epoch ms) when one is given. */
  readonly peerFor: (
    settings: FailoverSettings,
    credentials: Credentials,
    deadline?: number,
  ) => PeerClient;
}

const envelope = z.strictObject({
  origin: z.string().min(1).max(256),
  changes: z.array(changeSchema).max(MAX_PEER_CHANGES),
});

/** A server that automatically syncs to its own failover takes no sync (R18: no loop). */
async function refuseIfSyncingOut(deps: SyncOperationsDeps, origin?: string) {
  if (origin === deps.serverId) throw conflict("a server cannot sync to itself (R18)");
  const settings = await deps.failoverSettings.get();
  if (settings.enabled && settings.autoSync) {
    throw conflict(
      `${deps.serverId} automatically syncs to its own failover, so it takes no sync (R18)`,
    );
  }
}

/** `GET /api/sync/hello`: who this server is, for test connection and the loop check. */
export async function hello(deps: SyncOperationsDeps): Promise<PeerHello> {
  const settings = await deps.failoverSettings.get();
  return {
    serverId: deps.serverId,
    protocol: SYNC_PROTOCOL,
    autoSync: settings.enabled && settings.autoSync,
  };
}

/**
 * `POST /api/sync/events`: applies the batch with the version rule, answering per change in
 * the batch's order. One settings read (the R18 check), then the changes coalesced to the
 * newest per key and written together with conditional statements (`applyChanges`): the
 * outcome of applying them one by one in commit order (R8), in a request or two per 25 changes.
 */
export async function receiveChanges(
  deps: SyncOperationsDeps,
  body: unknown,
): Promise<{ results: ApplyResult[] }> {
  const parsed = envelope.safeParse(body);
  if (!parsed.success) throw fromZodError(parsed.error);
  const { origin, changes } = parsed.data;
  await refuseIfSyncingOut(deps, origin);
  const results = await applyChanges(deps.store, deps.clock, changes, deps.now);
  // For the failover's status: when production's configuration last changed here.
  const applied = results.filter(
    (result, index) => result.status === "applied" && changes[index]?.item.kind !== "heartbeat",
  );
  await deps.status.recordReceived(origin, applied.length);
  return { results };
}

async function peer(deps: SyncOperationsDeps, settings: FailoverSettings): Promise<PeerClient> {
  if (settings.host === undefined) throw invalid("host", "no failover is configured");
  const credentials = await deps.failoverSettings.peerCredentials();
  if (!credentials) throw invalid("password", "no failover credentials are configured");
  return deps.peerFor(settings, credentials);
}

/** R6: reachability and credentials within timeoutMs, and which step failed. */
export async function testConnection(deps: SyncOperationsDeps) {
  const settings = await deps.failoverSettings.get();
  const client = await peer(deps, settings);
  const started = Date.now();
  try {
    const answer = await client.hello();
    return { ok: true, peer: answer, latencyMs: Date.now() - started };
  } catch (error) {
    if (!(error instanceof PeerError)) throw error;
    return {
      ok: false,
      failed: error.failure,
      message: error.message,
      latencyMs: Date.now() - started,
    };
  }
}

/** How long turning automatic sync on may hold the full-sync lock: past any admin call. */
const TURNING_ON_TTL_MS = 60_000;

/**
 * `PUT /api/failover` (and failback's last step). Automatic sync on and a full sync exclude each
 * other (R11) through the full-sync lock: turning it on holds the lock from its checks until the
 * settings are saved, and a full sync reads the settings again once it holds the lock. So a full
 * sync that takes the lock first makes this a 409, and one that comes later sees automatic sync
 * on. Before saving, a failover that syncs out itself is refused (R18: a loop). Turning automatic
 * sync on starts the outage window afresh (R9).
 */
export async function saveFailoverSettings(deps: SyncOperationsDeps, body: unknown) {
  const before = await deps.failoverSettings.get();
  const lock = new RunLock(deps.store, deps.now);
  const claim = `${TURNING_ON}${randomUUID()}`;
  let claimed = false;
  try {
    const saved = await deps.failoverSettings.put(body, async (settings, credentials) => {
      if (!settings.enabled || !settings.autoSync) return;
      const taken = await lock.acquire(claim, TURNING_ON_TTL_MS);
      if (!taken.ok) {
        throw conflict(
          `${lockHolderText(taken.holder)}; turn automatic sync on once it has finished (R11)`,
        );
      }
      claimed = true;
      await refuseLoop(deps, settings, credentials);
    });
    const wasOn = before.enabled && before.autoSync;
    if (saved.enabled && saved.autoSync && !wasOn) await deps.status.forgetUnreachable();
    return saved;
  } finally {
    if (claimed) await lock.release(claim);
  }
}

/** A failover that automatically syncs itself would make a loop (R18). */
async function refuseLoop(
  deps: SyncOperationsDeps,
  settings: FailoverSettings,
  credentials?: Credentials,
) {
  if (settings.host === undefined || !credentials) return;
  let answer: PeerHello;
  try {
    answer = await deps.peerFor(settings, credentials).hello();
  } catch (error) {
    // An unreachable failover cannot be asked; its receiving side refuses a loop anyway.
    if (error instanceof PeerError) return;
    throw error;
  }
  if (answer.autoSync) {
    throw new AppError(
      409,
      "conflict",
      `the failover ${answer.serverId} automatically syncs to a failover of its own; enabling automatic sync to it would make a loop (R18)`,
    );
  }
}

/**
 * R20: module and sync state, the connection and heartbeat (sent, or on a failover received),
 * queue depths, lag percentiles over the recent window, last event, last full sync, and the last
 * hour's series (lag and queue depths a minute apart).
 */
export async function failoverStatus(deps: SyncOperationsDeps) {
  const [
    settings,
    state,
    connection,
    sent,
    applied,
    receiving,
    depths,
    batches,
    lastFull,
    drift,
    takeover,
    received,
    series,
  ] = await Promise.all([
    deps.failoverSettings.get(),
    deps.status.state(),
    deps.status.connection(),
    deps.status.heartbeatSent(),
    deps.status.heartbeatApplied(),
    deps.status.receiving(deps.serverId),
    deps.queue.depths(),
    deps.status.recentBatches(),
    lastFullSync(deps.store),
    deps.status.lastDrift(),
    lastTakeover(deps),
    deps.status.lastReceived(),
    statusSeries(deps),
  ]);
  const lags = batches.flatMap((batch) => batch.lagMs);
  const on = settings.enabled && settings.autoSync;
  return {
    module: { enabled: settings.enabled, autoSync: settings.autoSync },
    sync: on ? state : { state: "off" as const },
    connection: on && connection ? connection : null,
    heartbeat: {
      intervalSeconds: sent?.intervalSeconds ?? null,
      lastSentAt: sent ? new Date(sent.lastSentAt).toISOString() : null,
      lastAppliedAt: applied ? new Date(applied.appliedAt).toISOString() : null,
      lagMs: applied ? applied.appliedAt - applied.sentAt : null,
      missed: on && heartbeatMissed(sent, applied, (deps.now ?? Date.now)()),
    },
    /** On a failover: production's heartbeats as they arrive (R20); a sender receives none. */
    receiving: on ? null : receiving,
    /** On a failover: the newest batch of production's changes it applied. */
    lastReceived: on ? null : received,
    queue: depths,
    lag: {
      windowSeconds: LAG_WINDOW_MS / 1000,
      samples: lags.length,
      p50Ms: percentile(lags, 50) ?? null,
      p99Ms: percentile(lags, 99) ?? null,
    },
    lastEvent: batches[0]?.event ?? null,
    lastFullSync: lastFull,
    lastVerify: drift ?? null,
    /** On the failover: when it was last brought into service (R19a), by whom. */
    lastTakeover: takeover,
    /** The last hour, a point a minute: lag and queue depths for the console's charts. */
    series,
  };
}

/** R9: forward again, with what the dead-letter queue kept moved back to the queue first. */
export async function resumeSync(deps: SyncOperationsDeps) {
  const settings = await deps.failoverSettings.get();
  if (!settings.enabled || !settings.autoSync)
    throw conflict("automatic sync is off; turn it on in the failover settings");
  const { since } = await deps.status.state();
  await deps.queue.redrive();
  // The outage that suspended sync is over as far as R9 counts: the window starts afresh.
  await deps.status.forgetUnreachable();
  await deps.status.activate();
  await deps.forwarding.resume();
  // What was put aside while suspended is handed out again now, not when its hold ends.
  await deps.queue.release(await deps.status.held(since));
  return failoverStatus(deps);
}
