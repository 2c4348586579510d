import { FailoverSettingsService } from "../shared/config/failover-settings.ts";
import { ConfigService } from "../shared/config/service.ts";
import { HybridClock } from "../shared/model/version.ts";
import type { ConfigStore, SecretStore } from "../shared/ports.ts";

export interface ServerPorts {
  readonly store: ConfigStore;
  readonly secrets: SecretStore;
  /** This server's id: the origin stamped on its changes (R18). */
  readonly serverId: string;
}

/** The use cases of one server, wired once per Lambda container (or per local region). */
export function serverServices(ports: ServerPorts) {
  const clock = new HybridClock();
  return {
    ...ports,
    clock,
    config: new ConfigService({ store: ports.store, clock, serverId: ports.serverId }),
    failover: new FailoverSettingsService(ports.store, ports.secrets),
  };
}
export type ServerServices = ReturnType<typeof serverServices>;
