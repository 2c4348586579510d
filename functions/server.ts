import { HttpPeerClient } from "../shared/adapters/http-peer-client.ts";
import { FailoverSettingsService } from "../shared/config/failover-settings.ts";
import { ConfigService } from "../shared/config/service.ts";
import { DEFAULT_HISTORY_DAYS } from "../shared/history/change.ts";
import { HistoryService } from "../shared/history/service.ts";
import type { MetricSink } from "../shared/metrics.ts";
import type { FailoverSettings } from "../shared/model/schemas.ts";
import { HybridClock } from "../shared/model/version.ts";
import type {
  BulkStore,
  ChangeQueue,
  ConfigStore,
  Credentials,
  EventPublisher,
  ForwardSwitch,
  HistoryStore,
  SecretStore,
} from "../shared/ports.ts";
import { SyncStatusStore } from "../shared/sync/status.ts";

/** The adapters one server runs on: AWS services in the cloud, the emulators locally. */
export interface ServerPorts {
  readonly store: ConfigStore;
  /** Scan segments and batch writes for the full sync (R12). */
  readonly bulk: BulkStore;
  readonly secrets: SecretStore;
  readonly queue: ChangeQueue;
  readonly forwarding: ForwardSwitch;
  readonly events: EventPublisher;
  /** SyncFailures, HeartbeatMissed, Drift (R22). */
  readonly metrics: MetricSink;
  /** This server's id: the origin stamped on its changes (R18). */
  readonly serverId: string;
  /** Every stored configuration change, with the item it replaced (R26). */
  readonly history: HistoryStore;
  /** How long history keeps a change, in days (R26). @default 7 */
  readonly historyDays?: number;
  /**
   * The wall clock (epoch ms) that versions and the time-based rules read: suspension (R9),
   * run locks (R11), heartbeats (R20). `Date.now` unless a test moves time instead of sleeping.
   */
  readonly now?: () => number;
}

/** The use cases of one server, wired once per Lambda container (or per local region). */
export function serverServices(ports: ServerPorts) {
  const now = ports.now ?? Date.now;
  const clock = new HybridClock(now);
  const historyDays = ports.historyDays ?? DEFAULT_HISTORY_DAYS;
  return {
    ...ports,
    now,
    clock,
    historyDays,
    historyService: new HistoryService({
      store: ports.store,
      history: ports.history,
      clock,
      serverId: ports.serverId,
      historyDays,
      now,
    }),
    config: new ConfigService({ store: ports.store, clock, serverId: ports.serverId, now }),
    failoverSettings: new FailoverSettingsService(ports.store, ports.secrets),
    status: new SyncStatusStore(ports.store, now),
    peerFor: (settings: FailoverSettings, credentials: Credentials, deadline?: number) =>
      new HttpPeerClient(settings, credentials, deadline),
  };
}
export type ServerServices = ReturnType<typeof serverServices>;
