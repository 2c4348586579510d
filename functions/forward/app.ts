import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { coalesce } from "../../shared/sync/coalesce.ts";
import { type ForwardDeps, forwardBatch, type ReceivedChange } from "../../shared/sync/forward.ts";

export interface ForwardHandlerDeps extends ForwardDeps {
  readonly logger: Logger;
}

/**
 * FIFO queue → the failover's /api/sync/events: the whole batch in one HTTP call, a partial
 * batch response per message (R7, R9, R10).
 */
export function createForwardHandler(deps: ForwardHandlerDeps) {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .handler(async (event, context) => {
      // Leave a second of the function's time for answering.
      const deadline = Date.now() + context.getRemainingTimeInMillis() - 1000;
      const forward = coalesce((changes: ReceivedChange[]) =>
        forwardBatch(deps, changes, deadline),
      );
      const processor = new BatchProcessor(EventType.SQS);
      return processPartialResponse(
        event,
        (record: SQSRecord) =>
          forward({
            body: record.body,
            receiptHandle: record.receiptHandle,
            groupId: record.attributes.MessageGroupId ?? "",
            receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
            deduplicationId: record.attributes.MessageDeduplicationId ?? record.messageId,
          }),
        processor,
        // Suspension and retries are outcomes, not crashes: answer with the failures.
        { context, processInParallel: true, throwOnFullBatchFailure: false },
      );
    });
}
