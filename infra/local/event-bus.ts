import { randomUUID } from "node:crypto";
import type { EventPublisher } from "../../shared/ports.ts";
import type { SyncEvent } from "../../shared/sync/events.ts";

/** An event as EventBridge delivers it to a rule's target. */
export interface BusEvent extends SyncEvent {
  readonly version: "0";
  readonly id: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
}

/**
 * Plays one region's EventBridge bus: keeps what was published (for status and tests) and
 * hands each event to the listeners (trigger rules subscribe here).
 */
export class LocalEventBus implements EventPublisher {
  private readonly published: BusEvent[] = [];
  private readonly listeners: ((event: BusEvent) => Promise<void>)[] = [];

  constructor(private readonly region: string) {}

  async publish(event: SyncEvent): Promise<void> {
    const delivered: BusEvent = {
      version: "0",
      id: randomUUID(),
      account: "000000000000",
      time: new Date().toISOString(),
      region: this.region,
      resources: [],
      ...event,
    };
    this.published.push(delivered);
    // EventBridge delivers asynchronously: a slow or failing target never blocks the publisher.
    for (const listener of this.listeners) void listener(delivered).catch(() => {});
  }

  subscribe(listener: (event: BusEvent) => Promise<void>): void {
    this.listeners.push(listener);
  }

  events(): readonly BusEvent[] {
    return this.published;
  }
}
