import { FailoverSettingsService } from "../../shared/config/failover-settings.ts";
import { domainKey } from "../../shared/model/items.ts";
import type { FailoverSettings } from "../../shared/model/schemas.ts";
import { HybridClock } from "../../shared/model/version.ts";
import type {
  BulkStore,
  ChangeQueue,
  Credentials,
  FullSyncPeer,
  PeerHello,
} from "../../shared/ports.ts";
import { PeerError } from "../../shared/sync/peer.ts";
import { SyncStatusStore } from "../../shared/sync/status.ts";
import { MemorySecrets } from "./memory-secrets.ts";
import { MemoryStore } from "./memory-store.ts";

/** A received queue message carrying a change of domain `domain`. */
export const queuedChange = (domain: string) => ({
  body: JSON.stringify({
    items: [{ ...domainKey(domain), kind: "domain", domain, version: 1, updatedAt: 1, data: {} }],
  }),
  groupId: domain,
  deduplicationId: domain,
  receiptHandle: `handle-${domain}`,
  receiveCount: 1,
});

export const HELLO: PeerHello = { serverId: "failover", protocol: 3, autoSync: false };

/**
 * One production server on the memory store, with a clock the test moves and a failover the test
 * plays (by default it answers hello and fails every other call with a 503). Each client made
 * for the failover is recorded with where it goes and the password it carries.
 */
export function memoryProduction() {
  const store = new MemoryStore();
  let now = Date.parse("2026-12-07T10:00:00Z");
  const unavailable = () =>
    Promise.reject(new PeerError("http", "the failover answered 503: busy", true));
  const peer: { -readonly [K in keyof FullSyncPeer]: FullSyncPeer[K] } = {
    hello: async () => HELLO,
    sendChanges: unavailable,
    call: unavailable,
  };
  const clients: { host: string | undefined; password: string }[] = [];
  const queue = {
    sendInOrder: async () => [],
    deadLetter: async () => {},
    release: async () => {},
    redrive: async () => {},
    depths: async () => ({ queued: 0, inFlight: 0, deadLettered: 0 }),
  } satisfies ChangeQueue;
  const secrets = new MemorySecrets();
  const deps = {
    serverId: "production",
    store,
    clock: new HybridClock(() => now),
    secrets,
    failoverSettings: new FailoverSettingsService(store, secrets),
    status: new SyncStatusStore(store, () => now),
    queue,
    forwarding: { suspend: async () => {}, resume: async () => {} },
    events: { publish: async () => {} },
    metrics: { publish: async () => {} },
    bulk: {} as BulkStore,
    fullSyncRunner: { start: async () => {} },
    failbackRunner: { start: async () => {} },
    peerFor: (settings: FailoverSettings, credentials: Credentials): FullSyncPeer => {
      clients.push({ host: settings.host, password: credentials.password });
      return {
        hello: () => peer.hello(),
        sendChanges: (origin, changes) => peer.sendChanges(origin, changes),
        call: (method, path, body) => peer.call(method, path, body),
      };
    },
    retry: { attempts: 1, baseDelayMs: 1 },
    now: () => now,
  };
  return {
    deps,
    peer,
    clients,
    advance: (ms: number) => {
      now += ms;
    },
  };
}
