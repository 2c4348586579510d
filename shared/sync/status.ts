import type { ConfigStore } from "../ports.ts";
import type { SyncEventDetail } from "./events.ts";

/** Whether automatic sync forwards (R9); local to this server (R3). */
export interface SyncState {
  readonly state: "active" | "suspended";
  readonly reason?: string;
  /** When the state last changed; absent while it never has. */
  readonly since?: string;
}

/** One forwarded batch: its event and the lag of each change in it (R20). */
export interface BatchRecord {
  readonly event: SyncEventDetail;
  readonly lagMs: number[];
}

const STATE = "failover/state";
const BATCH = "batch#";
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
    return (await this.store.getLocal<SyncState>(STATE)) ?? { state: "active" };
  }

  async setState(state: SyncState["state"], reason?: string): Promise<SyncState> {
    const value: SyncState = {
      state,
      since: new Date(this.now()).toISOString(),
      ...(reason ? { reason } : {}),
    };
    await this.store.putLocal(STATE, value);
    return value;
  }

  /** One write per batch, named by time so the window is one Query; expires after a day. */
  async recordBatch(record: BatchRecord): Promise<void> {
    const at = this.now();
    const name = `${BATCH}${new Date(at).toISOString()}#${Math.random().toString(36).slice(2, 8)}`;
    await this.store.putLocal(name, record, { expiresAt: Math.floor(at / 1000) + 86_400 });
  }

  /** Batches of the recent window, newest first. */
  async recentBatches(): Promise<BatchRecord[]> {
    const from = `${BATCH}${new Date(this.now() - LAG_WINDOW_MS).toISOString()}`;
    return this.store.listLocal<BatchRecord>(BATCH, from, RECENT_BATCHES);
  }
}

/** Nearest-rank percentile; undefined for no samples. */
export function percentile(samples: number[], p: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
