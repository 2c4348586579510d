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
  /** On a failover: the newest batch of production's changes it applied. */
  lastReceived?: { from: string; at: string; items: number } | null;
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

/**
 * A failover: automatic sync is off here, and it receives production's changes or heartbeats,
 * or it took over. Its status answers other questions than production's (issue 28.4).
 */
export const isFailover = (status: StatusView): boolean =>
  status.sync.state === "off" &&
  Boolean(status.receiving || status.lastReceived || status.lastTakeover?.at);

/**
 * Why this server is not in step, in words; empty when it is (`failover status` exits 6
 * otherwise). Automatic sync turned off is a setting, not a fault: the state line says it.
 */
export function notInStep(status: StatusView): string[] {
  const reasons: string[] = [];
  if (status.sync.state === "suspended") reasons.push("automatic sync is suspended");
  if (status.connection?.state === "unreachable") reasons.push("the failover is unreachable");
  if (status.heartbeat.missed) reasons.push("a heartbeat was missed");
  if (status.queue.deadLettered > 0)
    reasons.push(`${plural(status.queue.deadLettered, "change")} in the dead-letter queue`);
  if (status.receiving?.missed) reasons.push("production's heartbeats stopped arriving");
  return reasons;
}

/** The status as a short aligned block: one line per subject, most urgent first. */
export function formatStatus(status: StatusView, now = Date.now()): string {
  const lines = isFailover(status) ? failoverLines(status, now) : senderLines(status, now);
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
  const width = Math.max(...lines.map(([label]) => label.length)) + 2;
  return lines.map(([label, value]) => `${label.padEnd(width)}${value}`).join("\n");
}

/** Production (or any server that sends): sync state, connection, heartbeat, queue, lag. */
function senderLines(status: StatusView, now: number): [string, string][] {
  const lines: [string, string][] = [];
  const { sync, connection, queue, lag } = status;
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
      : sync.state === "off"
        ? "–"
        : "not called yet: the first change or heartbeat calls the failover",
  ]);
  lines.push(["heartbeat", heartbeatLine(status, now)]);
  lines.push(["queue", queueLine(queue)]);
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
  if (status.lastTakeover?.at) lines.push(["last takeover", takeoverLine(status, now)]);
  return lines;
}

function heartbeatLine({ sync, heartbeat }: StatusView, now: number): string {
  if (!heartbeat.intervalSeconds) {
    return sync.state === "off"
      ? "none: automatic sync is off"
      : "none sent yet: the monitor sends the first one interval after automatic sync is on (every 60 s unless set otherwise; local mode: MFT_HEARTBEAT_SECONDS)";
  }
  return [
    `every ${heartbeat.intervalSeconds} s`,
    heartbeat.lastSentAt ? `sent ${when(heartbeat.lastSentAt, now)}` : "none sent",
    heartbeat.lastAppliedAt
      ? `applied ${when(heartbeat.lastAppliedAt, now)}, lag ${duration(heartbeat.lagMs)}`
      : "none applied",
    ...(heartbeat.missed ? ["MISSED"] : []),
  ].join("; ");
}

/** One message is one change: those on their way, and those the failover rejected (R10). */
function queueLine(queue: StatusView["queue"]): string {
  const onTheirWay = queue.queued + queue.inFlight;
  const dead = `${queue.deadLettered} in the dead-letter queue${queue.deadLettered ? " (failover verify, failover resume)" : ""}`;
  if (onTheirWay === 0) return `no changes on their way; ${dead}`;
  return `${plural(onTheirWay, "change")} on ${onTheirWay === 1 ? "its" : "their"} way (${queue.queued} waiting, ${queue.inFlight} being sent or waiting out a retry); ${dead}`;
}

/** A failover: whom it receives from, the last change and heartbeat applied, takeover. */
function failoverLines(status: StatusView, now: number): [string, string][] {
  const { receiving, lastReceived: received, lastTakeover: takeover } = status;
  const from = receiving?.from ?? received?.from ?? "production";
  const lines: [string, string][] = [
    [
      "state",
      takeover?.at
        ? `failover of ${from}, in service since its takeover ${when(takeover.at, now)}`
        : `failover of ${from}: it applies the changes ${from} sends (automatic sync is off here, as on every failover)`,
    ],
  ];
  const advice = takeover?.at
    ? "expected after a takeover; once production is back: failback, on production"
    : "production may be lost: check it, or take over (failover takeover)";
  lines.push([
    "receiving",
    receiving
      ? `from ${from}; last heartbeat ${when(receiving.lastHeartbeatAt, now)}, ${receiving.ageSeconds} s old${receiving.missed ? `; MISSED — ${advice}` : ""}`
      : "no heartbeat from production yet (one each interval while its automatic sync is on)",
  ]);
  lines.push([
    "last change",
    received
      ? `${plural(received.items, "change")} from ${received.from} applied ${when(received.at, now)}`
      : "none applied yet",
  ]);
  lines.push([
    "takeover",
    takeover?.at
      ? takeoverLine(status, now)
      : "none: a standby, its domains stay stopped until `failover takeover`",
  ]);
  if (status.queue.queued + status.queue.inFlight + status.queue.deadLettered > 0)
    lines.push(["queue", queueLine(status.queue)]);
  return lines;
}

function takeoverLine({ lastTakeover }: StatusView, now: number): string {
  const at = lastTakeover?.at ?? "";
  return `${when(at, now)}${lastTakeover?.by ? ` by ${lastTakeover.by}` : ""}: this server serves (its domains and web services started)`;
}
