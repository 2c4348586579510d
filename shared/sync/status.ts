import { heartbeatKey } from "../model/items.ts";
import type { ConfigStore } from "../ports.ts";
import type { SyncEventDetail } from "./events.ts";

/** Whether automatic sync forwards (R9); local to this server (R3). */
export interface SyncState {
  readonly state: "active" | "suspended";
  readonly reason?: string;
  /** When the state last changed; absent while it never has. */
  readonly since?: string;
  /**
   * Why it is suspended: `unreachable` heals by itself when the heartbeat's probe is answered
   * (unless autoResume is off); `refused` (credentials, protocol, loop) waits for a person.
   */
  readonly cause?: "unreachable" | "refused";
}

/** Whether the failover answered the last call (R20: the seed's "active connection"). */
export interface Connection {
  readonly state: "connected" | "unreachable";
  readonly since: string;
  readonly reason?: string;
}

/** Heartbeats written on production (R20), by the scheduled monitor. */
export interface HeartbeatSent {
  readonly intervalSeconds: number;
  /** Epoch ms of the first heartbeat and of the latest one. */
  readonly firstSentAt: number;
  readonly lastSentAt: number;
}

/** The newest heartbeat the failover applied, as forward saw it answered. */
export interface HeartbeatApplied {
  /** When production wrote it (its updatedAt) and when the failover applied it. */
  readonly sentAt: number;
  readonly appliedAt: number;
}

/**
 * On a failover, production's heartbeats as they arrive (R20): who sends them, when the newest
 * applied one was written, how old it is, and whether it is missed (older than two intervals).
 */
export interface Receiving {
  readonly from: string;
  readonly lastHeartbeatAt: string;
  readonly ageSeconds: number;
  readonly missed: boolean;
}

/** On a failover: the newest batch of configuration changes it applied from production. */
export interface Received {
  readonly from: string;
  /** When this server applied it. */
  readonly at: string;
  /** Changes of the batch applied (not stale, not rejected); heartbeats aside. */
  readonly items: number;
}

/** One forwarded batch: its event and the lag of each change in it (R20). */
export interface BatchRecord {
  readonly event: SyncEventDetail;
  readonly lagMs: number[];
}

/** A verification's outcome (R21) as the status shows it. */
export interface DriftSummary {
  readonly checkedAt: string;
  /** Drift: what automatic sync will not fix by itself. */
  readonly differences: number;
  /** What automatic sync was still carrying (absent in a record older than this count). */
  readonly pending?: number;
}

const STATE = "failover/state";
/** The state as stored: its revision makes each change a compare-and-set. */
type StoredState = SyncState & { readonly rev: number };
const HELD = "held#";
const LAST_DRIFT = "drift/last";
const CONNECTION = "failover/connection";
const HEARTBEAT_SENT = "heartbeat/sent";
const HEARTBEAT_APPLIED = "heartbeat/applied";
const BATCH = "batch#";
const LAST_RECEIVED = "received/last";
/** The recent window that lag percentiles are computed over. */
export const LAG_WINDOW_MS = 5 * 60_000;
const RECENT_BATCHES = 1000;

/** The failover module's run-time record: state, forwarded batches, lag. */
export class SyncStatusStore {
  constructor(
    private readonly store: ConfigStore,
    private readonly now: () => number = Date.now,
  ) {}

  async state(): Promise<SyncState> {
    const { rev: _, ...state } = (await this.store.getLocal<StoredState>(STATE)) ?? {
      state: "active",
    };
    return state;
  }

  /**
   * Suspends automatic sync unless it already is: true for the one caller (of many batches
   * failing side by side) that suspended it, whose reason, time and event stand.
   */
  async suspend(reason: string, cause: NonNullable<SyncState["cause"]>): Promise<boolean> {
    for (;;) {
      const current = await this.store.getLocal<StoredState>(STATE);
      if (current?.state === "suspended") return false;
      const next = { ...this.stateNow("suspended", current), reason, cause };
      if (await this.store.putLocalIf(STATE, next, current?.rev)) return true;
    }
  }

  /** Active again (resume): a suspension racing with it is not lost, it wins or comes after. */
  async activate(): Promise<void> {
    for (;;) {
      const current = await this.store.getLocal<StoredState>(STATE);
      if (await this.store.putLocalIf(STATE, this.stateNow("active", current), current?.rev))
        return;
    }
  }

  private stateNow(state: SyncState["state"], current: StoredState | undefined): StoredState {
    return { state, since: new Date(this.now()).toISOString(), rev: (current?.rev ?? 0) + 1 };
  }

  /**
   * Receipt handles of messages put aside while suspended (R9), one record per batch (parallel
   * batches never overwrite each other); resume makes them visible again.
   */
  async recordHeld(receiptHandles: string[]): Promise<void> {
    if (receiptHandles.length === 0) return;
    const at = this.now();
    const name = `${HELD}${new Date(at).toISOString()}#${Math.random().toString(36).slice(2, 8)}`;
    await this.store.putLocal(name, receiptHandles, { expiresAt: Math.floor(at / 1000) + 86_400 });
  }

  /** The handles put aside since the suspension began, newest batch first. */
  async held(since: string | undefined): Promise<string[]> {
    const batches = await this.store.listLocal<string[]>(HELD, `${HELD}${since ?? ""}`, 1000);
    return batches.flat();
  }

  /** Absent until the failover was first called, and after an outage was forgotten. */
  async connection(): Promise<Connection | undefined> {
    return (await this.store.getLocal<Connection | null>(CONNECTION)) ?? undefined;
  }

  /**
   * Resume and turning automatic sync on start R9's outage window afresh: an `unreachable` record
   * from before is dropped, so the next failure starts the window, not the old outage's.
   */
  async forgetUnreachable(): Promise<void> {
    if ((await this.connection())?.state === "unreachable")
      await this.store.putLocal(CONNECTION, null);
  }

  /** Records a change of the connection state; `since` stays while the state does. */
  async setConnection(
    current: Connection | undefined,
    state: Connection["state"],
    reason?: string,
  ): Promise<Connection> {
    if (current?.state === state) return current;
    const value: Connection = {
      state,
      since: new Date(this.now()).toISOString(),
      ...(reason ? { reason } : {}),
    };
    await this.store.putLocal(CONNECTION, value);
    return value;
  }

  heartbeatSent(): Promise<HeartbeatSent | undefined> {
    return this.store.getLocal<HeartbeatSent>(HEARTBEAT_SENT);
  }

  async recordHeartbeatSent(previous: HeartbeatSent | undefined, intervalSeconds: number) {
    const at = this.now();
    // After a pause (automatic sync was off) the heartbeat starts over: nothing was due meanwhile.
    const paused = !previous || previous.lastSentAt < at - 2 * intervalSeconds * 1000;
    const value: HeartbeatSent = {
      intervalSeconds,
      firstSentAt: paused ? at : previous.firstSentAt,
      lastSentAt: at,
    };
    await this.store.putLocal(HEARTBEAT_SENT, value);
    return value;
  }

  heartbeatApplied(): Promise<HeartbeatApplied | undefined> {
    return this.store.getLocal<HeartbeatApplied>(HEARTBEAT_APPLIED);
  }

  async recordHeartbeatApplied(value: HeartbeatApplied): Promise<void> {
    await this.store.putLocal(HEARTBEAT_APPLIED, value);
  }

  /**
   * The heartbeat applied here from another server (R20), null when there is none: this server
   * is nobody's failover, or it sends heartbeats of its own (they replace the received one).
   */
  async receiving(serverId: string): Promise<Receiving | null> {
    const heartbeat = await this.store.get(heartbeatKey);
    if (!heartbeat || heartbeat.deleted || heartbeat.origin === serverId) return null;
    const intervalSeconds = Number(heartbeat.data?.intervalSeconds);
    const now = this.now();
    // updatedAt is the sender's clock: a time ahead of this server's counts as now.
    const at = Math.min(heartbeat.updatedAt, now);
    // One age for both fields, so that `missed` never disagrees with the age it shows.
    const ageSeconds = Math.round((now - at) / 100) / 10;
    return {
      from: heartbeat.origin,
      lastHeartbeatAt: new Date(at).toISOString(),
      ageSeconds,
      missed: ageSeconds > 2 * intervalSeconds,
    };
  }

  /** Notes a received batch that changed configuration here (heartbeats alone do not count). */
  async recordReceived(from: string, items: number): Promise<void> {
    if (items === 0) return;
    const value: Received = { from, at: new Date(this.now()).toISOString(), items };
    await this.store.putLocal(LAST_RECEIVED, value);
  }

  async lastReceived(): Promise<Received | null> {
    return (await this.store.getLocal<Received>(LAST_RECEIVED)) ?? null;
  }

  lastDrift(): Promise<DriftSummary | undefined> {
    return this.store.getLocal<DriftSummary>(LAST_DRIFT);
  }

  async recordDrift(value: DriftSummary): Promise<void> {
    await this.store.putLocal(LAST_DRIFT, value);
  }

  /** One write per batch, named by time so the window is one Query; expires after a day. */
  async recordBatch(record: BatchRecord): Promise<void> {
    const at = this.now();
    const name = `${BATCH}${new Date(at).toISOString()}#${Math.random().toString(36).slice(2, 8)}`;
    await this.store.putLocal(name, record, { expiresAt: Math.floor(at / 1000) + 86_400 });
  }

  /** Batches of the recent window (or of the last `windowMs`), newest first. */
  async recentBatches(windowMs = LAG_WINDOW_MS): Promise<BatchRecord[]> {
    const from = `${BATCH}${new Date(this.now() - windowMs).toISOString()}`;
    return this.store.listLocal<BatchRecord>(BATCH, from, RECENT_BATCHES);
  }
}

/**
 * R20: a heartbeat is missed when it is not applied within two intervals. Heartbeats are
 * written every interval, so the one after the newest applied heartbeat was due one interval
 * after it, and is missed two intervals later.
 */
export function heartbeatMissed(
  sent: HeartbeatSent | undefined,
  applied: HeartbeatApplied | undefined,
  now: number,
): boolean {
  if (!sent) return false;
  const interval = sent.intervalSeconds * 1000;
  const next =
    applied && applied.sentAt >= sent.firstSentAt ? applied.sentAt + interval : sent.firstSentAt;
  return now >= next + 2 * interval;
}

/** Nearest-rank percentile; undefined for no samples. */
export function percentile(samples: number[], p: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
