/** `GET /api/failover/status` (R20), as shared/sync/operations.ts failoverStatus answers it. */
export interface StatusView {
  module: { enabled: boolean; autoSync: boolean };
  sync: { state: "active" | "suspended" | "off"; reason?: string; since?: string; cause?: string };
  connection: { state: "connected" | "unreachable"; since: string; reason?: string } | null;
  heartbeat: {
    intervalSeconds: number | null;
    lastSentAt: string | null;
    lastAppliedAt: string | null;
    lagMs: number | null;
    missed: boolean;
  };
  /** On a failover: production's heartbeats as they arrive (R20). */
  receiving?: { from: string; lastHeartbeatAt: string; ageSeconds: number; missed: boolean } | null;
  queue: { queued: number; inFlight: number; deadLettered: number };
  lag: { windowSeconds: number; samples: number; p50Ms: number | null; p99Ms: number | null };
  lastEvent: {
    Success: boolean;
    Mode: string;
    FinishedAt: string;
    Items: number;
    Reason?: string;
    Message?: string;
  } | null;
  lastFullSync: {
    syncId: string;
    state: string;
    startedAt: string;
    finishedAt: string | null;
    reason?: string;
  } | null;
  lastVerify: { checkedAt: string; differences: number; pending?: number } | null;
  lastTakeover?: { at?: string; by?: string } | null;
}

/** "14:02:11Z (3 min ago)": the time at a glance, the date only when not today. */
export function when(iso: string, now: number): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const today = new Date(now).toISOString().slice(0, 10);
  const [date, time] = at.toISOString().split("T") as [string, string];
  const shown = `${date === today ? "" : `${date} `}${time.slice(0, 8)}Z`;
  return `${shown} (${ago(now - at.getTime())})`;
}

function ago(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 0) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

const MODES: Record<string, string> = {
  automatic: "automatic sync",
  "on-demand": "full sync",
};

const duration = (ms: number | null) =>
  ms === null ? "–" : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;

/** The status as a short aligned block: one line per subject, most urgent first. */
export function formatStatus(status: StatusView, now = Date.now()): string {
  const lines: [string, string][] = [];
  const { sync, connection, heartbeat, queue, lag } = status;
  if (sync.state === "off") {
    const why = status.module.enabled ? "automatic sync is off" : "the failover module is off";
    lines.push(["state", `off (${why}: failover set enabled=true autoSync=true)`]);
  } else {
    const reason = sync.reason ? `: ${sync.reason}` : "";
    const since = sync.since ? ` since ${when(sync.since, now)}` : "";
    const hint =
      sync.state === "suspended"
        ? sync.cause === "unreachable"
          ? " — resumes by itself when the failover answers, or: failover resume"
          : " — fix the cause, then: failover resume"
        : "";
    lines.push([
      "state",
      `${sync.state === "suspended" ? "SUSPENDED" : sync.state}${reason}${since}${hint}`,
    ]);
  }
  lines.push([
    "connection",
    connection
      ? `${connection.state}${connection.reason ? ` (${connection.reason})` : ""} since ${when(connection.since, now)}`
      : "–",
  ]);
  const beat = heartbeat.intervalSeconds
    ? [
        `every ${heartbeat.intervalSeconds} s`,
        heartbeat.lastSentAt ? `sent ${when(heartbeat.lastSentAt, now)}` : "none sent",
        heartbeat.lastAppliedAt
          ? `applied ${when(heartbeat.lastAppliedAt, now)}, lag ${duration(heartbeat.lagMs)}`
          : "none applied",
        ...(heartbeat.missed ? ["MISSED"] : []),
      ].join("; ")
    : "–";
  lines.push(["heartbeat", beat]);
  if (status.receiving) {
    const { from, lastHeartbeatAt, ageSeconds, missed } = status.receiving;
    lines.push([
      "receiving",
      `from ${from}; last heartbeat ${when(lastHeartbeatAt, now)}, ${ageSeconds} s old${missed ? "; MISSED — production may be lost: check it, or take over (failover takeover)" : ""}`,
    ]);
  }
  lines.push([
    "queue",
    `${queue.queued} queued, ${queue.inFlight} in flight, ${queue.deadLettered} in the dead-letter queue`,
  ]);
  lines.push([
    "lag",
    lag.samples === 0
      ? `no changes in the last ${lag.windowSeconds / 60} min`
      : `p50 ${duration(lag.p50Ms)}, p99 ${duration(lag.p99Ms)} (${plural(lag.samples, "change")} in the last ${lag.windowSeconds / 60} min)`,
  ]);
  const event = status.lastEvent;
  lines.push([
    "last event",
    event
      ? `${MODES[event.Mode] ?? event.Mode} ${event.Success ? "succeeded" : "FAILED"}, ${plural(event.Items, "item")}, ${when(event.FinishedAt, now)}${event.Reason ? `: ${event.Reason}` : ""}${event.Message ? ` — ${event.Message}` : ""}`
      : "–",
  ]);
  const full = status.lastFullSync;
  lines.push([
    "last full sync",
    full
      ? `${full.state} ${when(full.finishedAt ?? full.startedAt, now)}${full.reason ? `: ${full.reason}` : ""} (${full.syncId})`
      : "never",
  ]);
  if (status.lastVerify) {
    const { differences, pending, checkedAt } = status.lastVerify;
    const carried = pending ? ` (${pending} pending: still on their way)` : "";
    lines.push([
      "last verify",
      `${plural(differences, "difference")}${carried}, ${when(checkedAt, now)}`,
    ]);
  }
  if (status.lastTakeover?.at) {
    lines.push([
      "last takeover",
      `${when(status.lastTakeover.at, now)}${status.lastTakeover.by ? ` by ${status.lastTakeover.by}` : ""}`,
    ]);
  }
  const width = Math.max(...lines.map(([label]) => label.length)) + 2;
  return lines.map(([label, value]) => `${label.padEnd(width)}${value}`).join("\n");
}
