import { withOutcome } from "../events/outcome.ts";
import type { MetricSink } from "../metrics.ts";
import type { ConfigStore, EventPublisher } from "../ports.ts";
import { type SyncEventDetail, syncEvent } from "./events.ts";

/** Publishes a sync's outcome (R16) and counts a failure for the SyncFailures alarm (R22). */
export async function announce(
  ports: {
    readonly events: EventPublisher;
    readonly metrics: MetricSink;
    readonly store: Pick<ConfigStore, "getLocal" | "putLocalIf">;
  },
  detail: SyncEventDetail,
): Promise<void> {
  await Promise.all([
    ports.events.publish(syncEvent(await withOutcome(ports.store, detail))),
    detail.Success ? undefined : ports.metrics.publish({ SyncFailures: 1 }),
  ]);
}
