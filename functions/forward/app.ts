import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type ForwardDeps, forwardBatch } from "../../shared/sync/forward.ts";

export interface ForwardHandlerDeps extends ForwardDeps {
  readonly logger: Logger;
}

/**
 * FIFO queue → the failover's /api/sync/events: the changes of every message received in one
 * HTTP call, a partial batch response per message (R7, R9, R10). Suspension and retries are
 * outcomes, not crashes: they are answered as failed messages.
 */
export function createForwardHandler(deps: ForwardHandlerDeps) {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .handler(async (event, context) => {
      // Leave a second of the function's time for answering.
      const deadline = Date.now() + context.getRemainingTimeInMillis() - 1000;
      const outcomes = await forwardBatch(
        deps,
        event.Records.map((record) => ({
          body: record.body,
          receiptHandle: record.receiptHandle,
          groupId: record.attributes.MessageGroupId ?? "",
          receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
          deduplicationId: record.attributes.MessageDeduplicationId ?? record.messageId,
        })),
        deadline,
      );
      // FIFO (R8): after a failed message, its group's later messages fail too, as Powertools'
      // SqsFifoPartialProcessor answers, so that none of them is deleted ahead of it.
      const failedGroups = new Set<string>();
      const batchItemFailures = event.Records.flatMap((record, index) => {
        const group = record.attributes.MessageGroupId ?? "";
        if (outcomes[index] === true && !failedGroups.has(group)) return [];
        failedGroups.add(group);
        return [{ itemIdentifier: record.messageId }];
      });
      if (batchItemFailures.length > 0) {
        const error = outcomes.find((outcome) => outcome !== true);
        deps.logger.warn("messages left in the queue", {
          messages: batchItemFailures.length,
          error: String(error),
        });
      }
      return { batchItemFailures };
    });
}
