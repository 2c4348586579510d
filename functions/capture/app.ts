import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import middy from "@middy/core";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { fromRecord } from "../../shared/adapters/dynamo-records.ts";
import type { FailoverSettingsService } from "../../shared/config/failover-settings.ts";
import type { ChangeQueue } from "../../shared/ports.ts";
import { type CapturedChange, capturedItem, pack } from "../../shared/sync/capture.ts";

export interface CaptureDeps {
  readonly serverId: string;
  /** Read once per invocation: is automatic sync on (R7)? */
  readonly failoverSettings: Pick<FailoverSettingsService, "get">;
  readonly queue: ChangeQueue;
  readonly logger: Logger;
}

/** The change a stream record carries, if it is one to send (the item as the table stores it). */
function changeOf(record: DynamoDBRecord, serverId: string) {
  const image = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
  const old = record.dynamodb?.OldImage as Record<string, AttributeValue> | undefined;
  // The table's record, as the item it stores (without the index's keys).
  return capturedItem(
    image && { ...fromRecord(unmarshall(image)) },
    old && unmarshall(old),
    serverId,
  );
}

/**
 * DynamoDB stream → FIFO queue (R7): this server's own changes to replicated items, packed per
 * message group (domains hashed into a few) in stream order up to 64 KB a message, sent in
 * SendMessageBatch requests. A partial batch response names the first record not queued: the stream retries
 * from there, and the deduplication ids make what was queued already a no-op.
 */
export function createCaptureHandler(deps: CaptureDeps) {
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .handler(async (event) => {
      const settings = await deps.failoverSettings.get();
      // Nothing is forwarded while the module or automatic sync is off (R7).
      if (!settings.enabled || !settings.autoSync) return { batchItemFailures: [] };
      const records = event.Records;
      const changes: (CapturedChange & { readonly record: number })[] = [];
      let failedAt = records.length;
      for (const [index, record] of records.entries()) {
        try {
          const item = changeOf(record, deps.serverId);
          if (item) changes.push({ item, eventId: record.eventID ?? "", record: index });
        } catch (error) {
          deps.logger.error("unreadable stream record", { error: String(error) });
          failedAt = index;
          break;
        }
      }
      const messages = pack(changes);
      const sent = await deps.queue.sendInOrder(messages);
      const notSent = messages.filter((_, index) => sent[index] !== true);
      if (notSent.length > 0) {
        deps.logger.warn("changes not queued; the stream retries them", {
          messages: notSent.length,
          error: String(sent.find((outcome) => outcome !== true)),
        });
      }
      for (const message of notSent)
        failedAt = Math.min(failedAt, changes[message.from]?.record ?? failedAt);
      const failed = records[failedAt];
      return {
        batchItemFailures: failed
          ? [{ itemIdentifier: failed.dynamodb?.SequenceNumber ?? "" }]
          : [],
      };
    });
}
