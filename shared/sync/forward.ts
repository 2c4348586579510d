import type { FailoverSettingsService } from "../config/failover-settings.ts";
import type { MetricSink } from "../metrics.ts";
import type { ConfigItem } from "../model/items.ts";
import type { FailoverSettings } from "../model/schemas.ts";
import type {
  ChangeQueue,
  ConfigStore,
  Credentials,
  EventPublisher,
  ForwardSwitch,
  PeerClient,
  PeerResult,
  QueuedChange,
} from "../ports.ts";
import { announce } from "./announce.ts";
import type { SyncEventDetail } from "./events.ts";
import { PeerError } from "./peer.ts";
import type { Connection, SyncState, SyncStatusStore } from "./status.ts";
import { toFailover } from "./transform.ts";

/** A received queue message. */
export interface ReceivedChange extends QueuedChange {
  readonly receiptHandle: string;
  /** How often SQS has handed this message out (ApproximateReceiveCount). */
  readonly receiveCount: number;
}

export interface ForwardDeps {
  readonly serverId: string;
  readonly failover: FailoverSettingsService;
  readonly status: SyncStatusStore;
  /** This server's local records (the outcome of its previous event, R16). */
  readonly store: ConfigStore;
  readonly queue: ChangeQueue;
  readonly forwarding: ForwardSwitch;
  readonly events: EventPublisher;
  readonly metrics: MetricSink;
  readonly peerFor: (
    settings: FailoverSettings,
    credentials: Credentials,
    deadline?: number,
  ) => PeerClient;
  readonly retry: { readonly attempts: number; readonly baseDelayMs: number };
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retries within one invocation, before the message is handed back to SQS (R9). */
export const FORWARD_RETRY = { attempts: 3, baseDelayMs: 200 } as const;

/**
 * How long a message received while sync is suspended is put aside. Disabling an event source
 * mapping takes effect some seconds later (state Disabling): pollers still running would
 * otherwise receive the same messages again and again, each receive counting towards the DLQ.
 * Resume makes them visible at once.
 */
export const SUSPENDED_HOLD_SECONDS = 300;

/** Longest wait before a message that met an unreachable failover is handed out again. */
export const MAX_BACKOFF_SECONDS = 30;

/** SQS backoff (R9): 2, 4, 8 … seconds by receive count, at most MAX_BACKOFF_SECONDS. */
export const backoffSeconds = (receiveCount: number) =>
  Math.min(MAX_BACKOFF_SECONDS, 2 ** Math.max(1, receiveCount));

/** The peer's name in events: where the failover is. */
export const peerName = (settings: FailoverSettings) => `${settings.host ?? "?"}:${settings.port}`;

/** A failure that heals by itself (R9): connect refused, DNS, timeout, 429, 5xx. */
const isTransient = (error: unknown) => error instanceof PeerError && error.retryable;

/**
 * Forwards one batch of queued changes to the failover in one call (R7, R9, R10, R13, R14, R20).
 * Returns, per change, true when it is done with (applied, stale, or kept in the DLQ), or the
 * error that leaves it in the queue.
 */
export async function forwardBatch(
  deps: ForwardDeps,
  changes: ReceivedChange[],
  deadline: number,
): Promise<(true | Error)[]> {
  const now = deps.now ?? Date.now;
  // Read side by side: this runs once per batch, on the path of every change.
  const [settings, state, connection] = await Promise.all([
    deps.failover.get(),
    deps.status.state(),
    deps.status.connection(),
  ]);
  // Turned off: queued changes are dropped; turning sync back on needs a full sync (R12).
  if (!settings.enabled || !settings.autoSync) return changes.map(() => true);
  if (state.state === "suspended") {
    await holdWhileSuspended(deps, changes);
    return changes.map(() => new Error("automatic sync is suspended"));
  }
  const credentials = await deps.failover.peerCredentials(settings);
  if (!credentials) {
    return suspend(deps, settings, changes, "no failover credentials are configured", "refused");
  }

  const startedAt = now();
  const outgoing = changes.map((change) => {
    const { item } = JSON.parse(change.body) as { item: ConfigItem };
    return { item: toFailover(item, settings) };
  });
  const send = (given: Credentials) =>
    withRetries(deps, deadline, settings.timeoutMs, () =>
      deps.peerFor(settings, given, deadline).sendChanges(deps.serverId, outgoing),
    );
  let results: PeerResult[];
  try {
    results = await send(credentials).catch(async (error: unknown) => {
      // A refused password may have been changed since this container cached it: read it again.
      if (!(error instanceof PeerError && error.failure === "auth")) throw error;
      const fresh = await deps.failover.peerCredentials(settings, true);
      if (!fresh || fresh.password === credentials.password) throw error;
      return send(fresh);
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return isTransient(error)
      ? unreachable(deps, settings, changes, reason, connection)
      : suspend(deps, settings, changes, reason, "refused");
  }
  await deps.status.setConnection(connection, "connected");

  const outcomes = await Promise.all(
    changes.map(async (change, index): Promise<true | Error> => {
      const result = results[index];
      if (!result) return new Error("the failover gave no result for this change");
      if (result.status !== "rejected") return true;
      // A poison change (R10) is kept with its reason and does not hold up the others.
      await deps.queue.deadLetter(change, result.reason ?? "rejected by the failover");
      return true;
    }),
  );
  const rejected = results.filter((result) => result.status === "rejected");
  const applied = results.filter((result) => result.status === "applied");
  const event: SyncEventDetail = {
    Success: rejected.length === 0,
    Mode: "automatic",
    Primary: deps.serverId,
    Failover: peerName(settings),
    StartedAt: new Date(startedAt).toISOString(),
    FinishedAt: new Date(now()).toISOString(),
    Items: applied.length,
    ...(rejected.length
      ? {
          Reason: `${rejected.length} change(s) rejected by the failover and kept in the dead-letter queue: ${rejected[0]?.reason}`,
        }
      : {}),
  };
  const lagMs = results.flatMap((result, index) => {
    const committedAt = outgoing[index]?.item.updatedAt;
    return result.status === "applied" && committedAt !== undefined
      ? [result.appliedAt - committedAt]
      : [];
  });
  await Promise.all([
    deps.status.recordBatch({ event, lagMs }),
    announce(deps, event),
    recordHeartbeat(deps, outgoing, results),
  ]);
  return outcomes;
}

/** The newest heartbeat of the batch that the failover holds now (R20). */
async function recordHeartbeat(
  deps: ForwardDeps,
  outgoing: { item: ConfigItem }[],
  results: PeerResult[],
) {
  const beats = outgoing.flatMap(({ item }, index) => {
    const result = results[index];
    return item.kind === "heartbeat" && result && result.status !== "rejected"
      ? [{ sentAt: item.updatedAt, appliedAt: result.appliedAt }]
      : [];
  });
  const newest = beats.sort((a, b) => b.sentAt - a.sentAt)[0];
  if (newest) await deps.status.recordHeartbeatApplied(newest);
}

/** Retries what is worth retrying, with exponential backoff, while the deadline allows (R9). */
async function withRetries<T>(
  deps: ForwardDeps,
  deadline: number,
  timeoutMs: number,
  call: () => Promise<T>,
): Promise<T> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const delay = deps.retry.baseDelayMs * 2 ** (attempt - 1);
      if (
        !isTransient(error) ||
        attempt >= deps.retry.attempts ||
        now() + delay + timeoutMs > deadline
      )
        throw error;
      await sleep(delay);
    }
  }
}

/**
 * A transient failure (R9): the batch stays in the queue and comes back with SQS backoff. Only
 * when the failover has been unreachable for `suspendAfterSeconds` is sync suspended.
 */
async function unreachable(
  deps: ForwardDeps,
  settings: FailoverSettings,
  changes: ReceivedChange[],
  reason: string,
  connection: Connection | undefined,
): Promise<Error[]> {
  const now = (deps.now ?? Date.now)();
  const current = await deps.status.setConnection(connection, "unreachable", reason);
  if (now - Date.parse(current.since) >= settings.suspendAfterSeconds * 1000) {
    return suspend(deps, settings, changes, reason, "unreachable");
  }
  const receiveCount = Math.max(1, ...changes.map((change) => change.receiveCount));
  await deps.queue.release(
    changes.map((change) => change.receiptHandle),
    backoffSeconds(receiveCount),
  );
  return changes.map(() => new Error(reason));
}

/** Puts the batch aside until resume (SUSPENDED_HOLD_SECONDS at most), noting where it is. */
async function holdWhileSuspended(deps: ForwardDeps, changes: ReceivedChange[]) {
  const handles = changes.map((change) => change.receiptHandle);
  await deps.queue.release(handles, SUSPENDED_HOLD_SECONDS);
  await deps.status.recordHeld(handles);
  // A resume that ran meanwhile did not see these: hand them out again now.
  if ((await deps.status.state()).state === "active") await deps.queue.release(handles);
}

/**
 * Stop forwarding instead of hammering the failover (R9): keep the changes (put aside in the
 * queue until resume), say why in one event and in the status.
 */
async function suspend(
  deps: ForwardDeps,
  settings: FailoverSettings,
  changes: ReceivedChange[],
  reason: string,
  cause: NonNullable<SyncState["cause"]>,
): Promise<Error[]> {
  const now = new Date((deps.now ?? Date.now)()).toISOString();
  // Batches in flight side by side may all fail: only the first to suspend says so.
  const suspendedNow = await deps.status.suspend(reason, cause);
  await deps.forwarding.suspend();
  await holdWhileSuspended(deps, changes);
  const event: SyncEventDetail = {
    Success: false,
    Mode: "automatic",
    Primary: deps.serverId,
    Failover: peerName(settings),
    StartedAt: now,
    FinishedAt: now,
    Items: 0,
    Reason: `automatic sync suspended: ${reason}`,
  };
  if (suspendedNow) {
    await Promise.all([deps.status.recordBatch({ event, lagMs: [] }), announce(deps, event)]);
  }
  return changes.map(() => new Error(reason));
}
