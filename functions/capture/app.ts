import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import middy from "@middy/core";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { fromRecord } from "../../shared/adapters/dynamo-records.ts";
import type { FailoverSettingsService } from "../../shared/config/failover-settings.ts";
import type { ChangeQueue } from "../../shared/ports.ts";
import { capturedChange } from "../../shared/sync/capture.ts";
import { coalesce } from "../../shared/sync/coalesce.ts";

export interface CaptureDeps {
  readonly serverId: string;
  readonly failover: FailoverSettingsService;
  readonly queue: ChangeQueue;
  readonly logger: Logger;
}

/**
 * DynamoDB stream → FIFO queue (R7): this server's own changes to replicated items, one
 * message each (group = domain, dedup id = stream event id), sent in SQS batches of ten.
 */
export function createCaptureHandler(deps: CaptureDeps) {
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .handler(async (event, context) => {
      const settings = await deps.failover.get();
      // Nothing is forwarded while the module or automatic sync is off (R7).
      if (!settings.enabled || !settings.autoSync) return { batchItemFailures: [] };
      const send = coalesce((changes: Parameters<ChangeQueue["sendInOrder"]>[0]) =>
        deps.queue.sendInOrder(changes),
      );
      const processor = new BatchProcessor(EventType.DynamoDBStreams);
      return processPartialResponse(
        event,
        async (record: DynamoDBRecord) => {
          const image = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
          const old = record.dynamodb?.OldImage as Record<string, AttributeValue> | undefined;
          const change = capturedChange(
            // The table's record, as the item it stores (without the index's keys).
            image && { ...fromRecord(unmarshall(image)) },
            old && unmarshall(old),
            record.eventID ?? "",
            deps.serverId,
          );
          if (change) await send(change);
        },
        processor,
        { context, processInParallel: true },
      );
    });
}
