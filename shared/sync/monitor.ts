import type { MetricSink } from "../metrics.ts";
import { heartbeatKey } from "../model/items.ts";
import type { FailoverSettings } from "../model/schemas.ts";
import type { EventPublisher } from "../ports.ts";
import { announce } from "./announce.ts";
import type { SyncEventDetail } from "./events.ts";
import { endLapsedRun } from "./full/api.ts";
import { resumeSync } from "./operations.ts";
import { PeerError, peerName } from "./peer.ts";
import { recordSeriesPoint } from "./series.ts";
import { heartbeatMissed, type SyncState } from "./status.ts";
import { type DriftReport, type VerifyDeps, verify } from "./verify.ts";

/** What the scheduled monitor (heartbeat R20, verify R21) needs from one server. */
export interface MonitorDeps extends VerifyDeps {
  readonly events: EventPublisher;
  readonly metrics: MetricSink;
}

/**
 * R20: takes this minute's point of the status series (series.ts) beside the heartbeat. The
 * point is a picture: a failure to take it holds back no heartbeat, and still fails the run
 * (MonitorErrors) once the heartbeat is done.
 */
export async function sendHeartbeat(deps: MonitorDeps, intervalSeconds: number) {
  const [beat, point] = await Promise.allSettled([
    heartbeat(deps, intervalSeconds),
    // The status's last hour, in every region: the heartbeat runs every minute anyway.
    recordSeriesPoint(deps, intervalSeconds * 1000),
  ]);
  if (beat.status === "rejected") throw beat.reason;
  if (point.status === "rejected") throw point.reason;
  return beat.value;
}

/**
 * R20: writes the heartbeat item,
 * which the stream, the queue and forward carry to the failover like any change; publishes
 * HeartbeatMissed. While sync is suspended because the failover was
 * unreachable, the heartbeat also probes it and resumes sync when it answers (R9). A full sync
 * that stopped without recording its end is recorded as failed (R11). On a failover (automatic
 * sync off) it publishes HeartbeatAge instead: how old production's newest heartbeat here is.
 */
async function heartbeat(deps: MonitorDeps, intervalSeconds: number) {
  const now = deps.now ?? Date.now;
  const [settings, lapsedFullSync] = await Promise.all([
    deps.failoverSettings.get(),
    endLapsedRun(deps),
  ]);
  const ended = lapsedFullSync ? { fullSyncFailed: lapsedFullSync } : {};
  if (!settings.enabled || !settings.autoSync) {
    const receiving = await deps.status.receiving(deps.serverId);
    if (receiving) await deps.metrics.publish({ HeartbeatAge: receiving.ageSeconds });
    return { sent: false, missed: false, resumed: false, receiving, ...ended };
  }
  const [previous, sent, applied, state] = await Promise.all([
    deps.store.get(heartbeatKey),
    deps.status.heartbeatSent(),
    deps.status.heartbeatApplied(),
    deps.status.state(),
  ]);
  const at = now();
  await deps.store.apply({
    ...heartbeatKey,
    kind: "heartbeat",
    id: "heartbeat",
    version: deps.clock.next(previous?.version),
    origin: deps.serverId,
    updatedAt: at,
    data: { intervalSeconds },
  });
  const record = await deps.status.recordHeartbeatSent(sent, intervalSeconds);
  const missed = heartbeatMissed(record, applied, at);
  await deps.metrics.publish({ HeartbeatMissed: missed ? 1 : 0 });
  const resumed = state.state === "suspended" && (await probe(deps, settings, state));
  return { sent: true, missed, resumed, receiving: null, ...ended };
}

/** Resumes sync suspended by an outage once the failover answers again, unless autoResume is off. */
async function probe(deps: MonitorDeps, settings: FailoverSettings, state: SyncState) {
  if (state.cause !== "unreachable" || !settings.autoResume) return false;
  const credentials = await deps.failoverSettings.peerCredentials(settings);
  if (!credentials) return false;
  const connection = await deps.status.connection();
  try {
    const hello = await deps.peerFor(settings, credentials).hello();
    // A failover that now syncs out itself would refuse every change (R18): a person decides.
    if (hello.autoSync) return false;
  } catch (error) {
    if (!(error instanceof PeerError)) throw error;
    await deps.status.setConnection(connection, "unreachable", error.message);
    return false;
  }
  await deps.status.setConnection(connection, "connected");
  await resumeSync(deps);
  const at = new Date((deps.now ?? Date.now)()).toISOString();
  const event: SyncEventDetail = {
    Success: true,
    Mode: "automatic",
    Primary: deps.serverId,
    Failover: peerName(settings),
    StartedAt: at,
    FinishedAt: at,
    Items: 0,
    Message: `automatic sync resumed by itself: the failover answers again (suspended since ${state.since}: ${state.reason})`,
  };
  await Promise.all([deps.status.recordBatch({ event, lagMs: [] }), announce(deps, event)]);
  return true;
}

/**
 * The hourly verify (R21), on the sending side only: a failover whose settings point back at
 * production for a failback (automatic sync off) would report the reverse as drift.
 */
export async function scheduledVerify(deps: MonitorDeps) {
  const settings = await deps.failoverSettings.get();
  if (!settings.enabled || !settings.autoSync) return { skipped: true as const };
  const { checkedAt, differences, pending, durationMs } = await checkDrift(deps);
  return { checkedAt, differences, pending, durationMs };
}

/**
 * R21: verify, publish the Drift metric (drift only: what sync still carries is pending, not an
 * alarm), and keep the outcome for the status.
 */
export async function checkDrift(deps: MonitorDeps): Promise<DriftReport> {
  const report = await verify(deps);
  const { checkedAt, differences, pending } = report;
  await Promise.all([
    deps.metrics.publish({ Drift: differences }),
    deps.status.recordDrift({ checkedAt, differences, pending }),
  ]);
  return report;
}
