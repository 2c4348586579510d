import type { MetricSink } from "../metrics.ts";
import type { ConfigStore, EventPublisher } from "../ports.ts";
import { announce } from "./announce.ts";
import type { SyncEventDetail } from "./events.ts";

/**
 * How long a run's lock holds unless renewed. Each Task of the run renews it (a Task lasts at
 * most a few minutes), so the lock of a run that stopped (its execution timed out or was
 * stopped) lapses soon after.
 */
export const RUN_LOCK_TTL_MS = 15 * 60_000;

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

/** The full sync's lock (R11); turning automatic sync on takes it too, briefly. */
export const FULL_SYNC_LOCK = "fullsync/lock";

/** A one-run-at-a-time lock: a conditional write on a local item. */
export class RunLock {
  constructor(
    private readonly store: ConfigStore,
    private readonly now: () => number = Date.now,
    private readonly name: string = FULL_SYNC_LOCK,
  ) {}

  /** Takes the lock for `runId` (again, if it already holds it); the holder's id when it cannot. */
  async acquire(
    runId: string,
    ttlMs: number,
  ): Promise<{ ok: true } | { ok: false; holder: string }> {
    for (;;) {
      const current = await this.store.getLocal<Lock>(this.name);
      if (current?.holder === runId && current.expiresAt > this.now()) return { ok: true };
      if (current?.holder && current.expiresAt > this.now())
        return { ok: false, holder: current.holder };
      const now = this.now();
      const next: Lock = {
        rev: (current?.rev ?? 0) + 1,
        holder: runId,
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
  async renew(runId: string, ttlMs: number): Promise<number | undefined> {
    for (;;) {
      const current = await this.store.getLocal<Lock>(this.name);
      if (current?.holder !== runId || current.expiresAt <= this.now()) return undefined;
      const fence = current.acquiredAt ?? 0;
      if (current.expiresAt - this.now() > ttlMs / 2) return fence;
      const next: Lock = { ...current, rev: current.rev + 1, expiresAt: this.now() + ttlMs };
      if (await this.store.putLocalIf(this.name, next, current.rev)) return fence;
    }
  }

  /** Releases the lock if `runId` holds it (a failed run must not free another run's lock). */
  async release(runId: string): Promise<void> {
    for (;;) {
      const current = await this.store.getLocal<Lock>(this.name);
      if (current?.holder !== runId) return;
      const next: Lock = { rev: current.rev + 1, holder: null, expiresAt: 0 };
      if (await this.store.putLocalIf(this.name, next, current.rev)) return;
    }
  }

  /** The run that holds the lock now, if any. */
  async holder(): Promise<string | undefined> {
    const lock = await this.store.getLocal<Lock>(this.name);
    return lock?.holder && lock.expiresAt > this.now() ? lock.holder : undefined;
  }
}

/** What a run's lifecycle needs: the store its lock and records live in, and where its event goes. */
export interface RunPorts {
  readonly store: ConfigStore;
  readonly events: EventPublisher;
  readonly metrics: MetricSink;
  readonly now?: () => number;
}

/**
 * The life of a long run, one at a time per server (a full sync R11, a failback R19): it takes
 * its lock, every Task renews it and gets the run's fencing token (a run whose lock lapsed stops
 * there), and its end is recorded, announced (R16) and the lock released — in `finally`, so a
 * failed announcement lets go of the lock too. The lock goes last: once it is free, the run's
 * end is recorded and another run can follow at once.
 */
export class RunLifecycle {
  private readonly lock: RunLock;

  constructor(
    private readonly ports: RunPorts,
    private readonly options: {
      /** The lock's local record. */
      readonly lockName: string;
      /** The error that stops a Task of a run that no longer holds the lock. */
      readonly lost: (runId: string) => Error;
    },
  ) {
    this.lock = new RunLock(ports.store, ports.now, options.lockName);
  }

  /** Takes the lock for a run (again, if it holds it already); who holds it when it cannot. */
  acquire(runId: string) {
    return this.lock.acquire(runId, RUN_LOCK_TTL_MS);
  }

  /** Every Task: renews the lock, the run's fencing token; throws `lost` once it is gone. */
  async fence(runId: string): Promise<number> {
    const token = await this.lock.renew(runId, RUN_LOCK_TTL_MS);
    if (token === undefined) throw this.options.lost(runId);
    return token;
  }

  /** The run that holds the lock now, if any. */
  holder(): Promise<string | undefined> {
    return this.lock.holder();
  }

  /** Lets go of a run that will not run after all (its start failed). */
  release(runId: string): Promise<void> {
    return this.lock.release(runId);
  }

  /**
   * Ends a run: `record` writes its outcome and returns the event that tells it (R16); then the
   * lock is released, whatever happened (a run recorded running without its lock is one that
   * stopped without ending, which the next run or the monitor records as failed).
   */
  async end(runId: string, record: () => Promise<SyncEventDetail>): Promise<void> {
    try {
      await announce(this.ports, await record());
    } finally {
      await this.lock.release(runId);
    }
  }
}

/** A state machine's Catch output: the error a run's failed Task ended with. */
export interface TaskError {
  readonly Error?: string;
  readonly Cause?: string;
}

/**
 * The error's message: a Lambda failure's Cause is `{"errorType","errorMessage","trace"}`, whose
 * trace must never reach a caller.
 */
export function reasonOf(error: TaskError | undefined): string {
  const cause = error?.Cause ?? "";
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === "string") return parsed.errorMessage;
  } catch {}
  return cause || error?.Error || "unknown error";
}
