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
  QueuedMessage,
} from "../ports.ts";
import { announce } from "./announce.ts";
import { single, unpack } from "./capture.ts";
import type { SyncEventDetail } from "./events.ts";
import { MAX_PEER_CHANGES, PeerError, peerName } from "./peer.ts";
import type { Connection, SyncState, SyncStatusStore } from "./status.ts";
import { toFailover } from "./transform.ts";

/** A received queue message (its changes packed by capture). */
export interface ReceivedMessage extends QueuedMessage {
  readonly receiptHandle: string;
  /** How often SQS has handed this message out (ApproximateReceiveCount). */
  readonly receiveCount: number;
}

export interface ForwardDeps {
  readonly serverId: string;
  readonly failoverSettings: FailoverSettingsService;
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

/** A failure that heals by itself (R9): connect refused, DNS, timeout, 429, 5xx. */
const isTransient = (error: unknown) => error instanceof PeerError && error.retryable;

/** A change of a received message, and which message it came in. */
interface Outgoing {
  readonly item: ConfigItem;
  readonly message: number;
}

/**
 * Forwards the changes of all messages one invocation received to the failover in one call
 * (split at MAX_PEER_CHANGES), and publishes one event (R7, R9, R10, R13, R14, R16, R20). Reads
 * settings, sync state and connection once. Returns, per message, true when it is done with (its
 * changes applied, stale, or rejected and each kept alone in the DLQ), or the error that leaves it
 * in the queue: a message comes back whole, and what of it was applied is stale then (R8).
 */
export async function forwardBatch(
  deps: ForwardDeps,
  messages: ReceivedMessage[],
  deadline: number,
): Promise<(true | Error)[]> {
  const now = deps.now ?? Date.now;
  // Read side by side, once per invocation: this is on the path of every change.
  const [settings, state, connection] = await Promise.all([
    deps.failoverSettings.get(),
    deps.status.state(),
    deps.status.connection(),
  ]);
  // Turned off: queued changes are dropped; turning sync back on needs a full sync (R12).
  if (!settings.enabled || !settings.autoSync) return messages.map(() => true);
  if (state.state === "suspended") {
    await holdWhileSuspended(deps, messages);
    return messages.map(() => new Error("automatic sync is suspended"));
  }
  const credentials = await deps.failoverSettings.peerCredentials(settings);
  if (!credentials) {
    return suspend(deps, settings, messages, "no failover credentials are configured", "refused");
  }

  const startedAt = now();
  const changes: Outgoing[] = [];
  const unreadable: { index: number; message: ReceivedMessage; reason: string }[] = [];
  messages.forEach((message, index) => {
    try {
      for (const item of unpack(message.body)) changes.push({ item, message: index });
    } catch (error) {
      unreadable.push({ index, message, reason: `unreadable message: ${String(error)}` });
    }
  });
  const outgoing = changes.map(({ item }) => ({ item: toFailover(item, settings) }));
  const send = async (given: Credentials) => {
    // One peer client for all of the invocation's calls.
    const peer = deps.peerFor(settings, given, deadline);
    const results: (PeerResult | undefined)[] = [];
    for (let start = 0; start < outgoing.length; start += MAX_PEER_CHANGES) {
      const part = outgoing.slice(start, start + MAX_PEER_CHANGES);
      const answers = await withRetries(deps, deadline, settings.timeoutMs, () =>
        peer.sendChanges(deps.serverId, part),
      );
      // Position by position, so that a short answer cannot shift the next part's results.
      results.push(...part.map((_, index) => answers[index]));
    }
    return results;
  };
  let results: (PeerResult | undefined)[];
  try {
    results =
      outgoing.length === 0
        ? []
        : await send(credentials).catch(async (error: unknown) => {
            // A refused password may have been changed since this container cached it: read it again.
            if (!(error instanceof PeerError && error.failure === "auth")) throw error;
            const fresh = await deps.failoverSettings.peerCredentials(settings, true);
            if (!fresh || fresh.password === credentials.password) throw error;
            return send(fresh);
          });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return isTransient(error)
      ? unreachable(deps, settings, messages, reason, connection)
      : suspend(deps, settings, messages, reason, "refused");
  }
  if (outgoing.length > 0) await deps.status.setConnection(connection, "connected");

  const outcomes: (true | Error)[] = messages.map(() => true);
  await Promise.all([
    // Not a message capture wrote: kept with its reason, it holds nothing else up (R10).
    ...unreadable.map(async ({ index, message, reason }) => {
      const kept = await deadLetter(deps, message, reason);
      if (kept !== true) outcomes[index] = kept;
    }),
    ...changes.map(async ({ item, message }, index) => {
      const result = results[index];
      const outcome = !result
        ? new Error("the failover gave no result for this change")
        : result.status === "rejected"
          ? // A poison change (R10) is kept alone with its reason; its neighbours are applied.
            await deadLetter(deps, single(item), result.reason ?? "rejected by the failover")
          : true;
      // The message is acknowledged only once each of its rejected changes is kept.
      if (outcome !== true) outcomes[message] = outcome;
    }),
  ]);
  // What was kept in the DLQ: rejected changes, and messages that could not be read.
  const rejected = [
    ...results.flatMap((result) => (result?.status === "rejected" ? [result.reason] : [])),
    ...unreadable.map(({ reason }) => reason),
  ];
  const applied = results.filter((result) => result?.status === "applied");
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
          Reason: `${rejected.length} change(s) rejected by the failover and kept in the dead-letter queue: ${rejected[0]}`,
        }
      : {}),
  };
  const lagMs = results.flatMap((result, index) => {
    const committedAt = outgoing[index]?.item.updatedAt;
    return result?.status === "applied" && committedAt !== undefined
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

/** Keeps a message in the DLQ with its reason: true, or the error that leaves it in the queue. */
async function deadLetter(
  deps: ForwardDeps,
  message: QueuedMessage,
  reason: string,
): Promise<true | Error> {
  try {
    await deps.queue.deadLetter(message, reason);
    return true;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The newest heartbeat of the batch that the failover holds now (R20). */
async function recordHeartbeat(
  deps: ForwardDeps,
  outgoing: { item: ConfigItem }[],
  results: (PeerResult | undefined)[],
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
  const sleep = deps.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const delay = deps.retry.baseDelayMs * 2 ** (attempt - 1);
      if (
        !isTransient(error) ||
        attempt >= deps.retry.attempts ||
        // The deadline is the invocation's time left, not the rules' clock (`deps.now`).
        Date.now() + delay + timeoutMs > deadline
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
  messages: ReceivedMessage[],
  reason: string,
  connection: Connection | undefined,
): Promise<Error[]> {
  const now = (deps.now ?? Date.now)();
  const current = await deps.status.setConnection(connection, "unreachable", reason);
  if (now - Date.parse(current.since) >= settings.suspendAfterSeconds * 1000) {
    return suspend(deps, settings, messages, reason, "unreachable");
  }
  const receiveCount = Math.max(1, ...messages.map((message) => message.receiveCount));
  await deps.queue.release(
    messages.map((message) => message.receiptHandle),
    backoffSeconds(receiveCount),
  );
  return messages.map(() => new Error(reason));
}

/** Puts the batch aside until resume (SUSPENDED_HOLD_SECONDS at most), noting where it is. */
async function holdWhileSuspended(deps: ForwardDeps, messages: ReceivedMessage[]) {
  const handles = messages.map((message) => message.receiptHandle);
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
  messages: ReceivedMessage[],
  reason: string,
  cause: NonNullable<SyncState["cause"]>,
): Promise<Error[]> {
  const now = new Date((deps.now ?? Date.now)()).toISOString();
  // Batches in flight side by side may all fail: only the first to suspend says so.
  const suspendedNow = await deps.status.suspend(reason, cause);
  await deps.forwarding.suspend();
  await holdWhileSuspended(deps, messages);
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
  return messages.map(() => new Error(reason));
}
