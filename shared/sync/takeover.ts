import type { MetricSink } from "../metrics.ts";
import { webKey } from "../model/items.ts";
import type { ConfigStore, EventPublisher } from "../ports.ts";
import { announce } from "./announce.ts";
import type { SyncEventDetail } from "./events.ts";
import { setRunning } from "./full/receive.ts";

const LAST_TAKEOVER = "takeover/last";
const PAGE = 100;

/** What a takeover needs from the failover: its store, and where its event goes. */
export interface TakeoverDeps {
  readonly serverId: string;
  readonly store: ConfigStore;
  readonly events: EventPublisher;
  readonly metrics: MetricSink;
  readonly now?: () => number;
}

/** When the failover was last brought into service, by whom, and what it started. */
export interface Takeover {
  readonly at: string;
  readonly by: string;
  readonly domainsStarted: number;
  readonly webEnabled: boolean;
}

/**
 * `POST /api/failover/takeover` (R19a), on the failover when production is lost: starts every
 * domain and enables the web services — what the operator would otherwise do one by one —
 * records when and by whom, and publishes a `Failover Synchronization` event (Mode `takeover`).
 * Run state is local (R2): no version changes, nothing is sent anywhere. Idempotent: a second
 * call starts what is still stopped (usually nothing).
 */
export async function takeOver(deps: TakeoverDeps, by: string): Promise<Takeover> {
  const now = deps.now ?? Date.now;
  const startedAt = new Date(now()).toISOString();
  let domainsStarted = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.store.listDomains({ limit: PAGE, ...(cursor ? { cursor } : {}) });
    const started = await Promise.all(page.items.map((domain) => setRunning(deps.store, domain)));
    domainsStarted += started.filter(Boolean).length;
    cursor = page.cursor;
  } while (cursor);
  const webEnabled = await setRunning(deps.store, webKey);
  const takeover: Takeover = { at: new Date(now()).toISOString(), by, domainsStarted, webEnabled };
  await deps.store.putLocal(LAST_TAKEOVER, takeover);
  const detail: SyncEventDetail = {
    Success: true,
    Mode: "takeover",
    Primary: deps.serverId,
    Failover: deps.serverId,
    StartedAt: startedAt,
    FinishedAt: takeover.at,
    Items: domainsStarted,
    Message: `${deps.serverId} took over: ${domainsStarted} domain(s) started${webEnabled ? ", web services enabled" : ""} by ${by}`,
  };
  await announce(deps, detail);
  return takeover;
}

/** The last takeover, for the status. */
export async function lastTakeover(deps: Pick<TakeoverDeps, "store">) {
  return (await deps.store.getLocal<Takeover>(LAST_TAKEOVER)) ?? null;
}
