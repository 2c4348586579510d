import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { EventPublisher } from "../ports.ts";
import type { SyncEvent } from "../sync/events.ts";

/** EventPublisher on an EventBridge bus; a rejected entry is an error, not a silent loss. */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(event: SyncEvent): Promise<void> {
    const { FailedEntryCount, Entries } = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: event.source,
            DetailType: event["detail-type"],
            Detail: JSON.stringify(event.detail),
          },
        ],
      }),
    );
    if (FailedEntryCount) {
      throw new Error(`EventBridge rejected the event: ${Entries?.[0]?.ErrorCode ?? "unknown"}`);
    }
  }
}
