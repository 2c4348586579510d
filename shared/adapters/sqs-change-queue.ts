import { randomUUID } from "node:crypto";
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { conflict } from "../errors.ts";
import type { ChangeQueue, QueuedMessage } from "../ports.ts";

/** SQS's batch limits: entries per request, and their bodies' bytes together. */
const BATCH = 10;
const BATCH_BYTES = 256 * 1024;

/** Messages cut into SendMessageBatch requests, in order, each within SQS's batch limits. */
function requests(messages: readonly QueuedMessage[]): QueuedMessage[][] {
  const chunks: QueuedMessage[][] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = Buffer.byteLength(message.body);
    const last = chunks.at(-1);
    if (last && last.length < BATCH && bytes + size <= BATCH_BYTES) {
      last.push(message);
      bytes += size;
    } else {
      chunks.push([message]);
      bytes = size;
    }
  }
  return chunks;
}

export interface QueueAddresses {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

/** The FIFO change queue and its DLQ on SQS (the same API in the cloud and locally). */
export class SqsChangeQueue implements ChangeQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queues: QueueAddresses,
  ) {}

  async sendInOrder(messages: QueuedMessage[]): Promise<(true | Error)[]> {
    const results: (true | Error)[] = [];
    for (const chunk of requests(messages)) {
      let failed: Error | undefined;
      try {
        const { Failed = [] } = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queues.queueUrl,
            Entries: chunk.map((message, index) => ({
              Id: String(index),
              MessageBody: message.body,
              MessageGroupId: message.groupId,
              MessageDeduplicationId: message.deduplicationId,
            })),
          }),
        );
        const firstFailed = Math.min(...Failed.map((entry) => Number(entry.Id)));
        chunk.forEach((_, index) => {
          if (index >= firstFailed)
            failed ??= new Error(`not queued: ${Failed[0]?.Message ?? "SQS refused"}`);
          results.push(failed ?? true);
        });
      } catch (error) {
        failed = error instanceof Error ? error : new Error(String(error));
        for (const _ of chunk) results.push(failed);
      }
      // Order per group (R8): nothing after a failure is sent; the stream retries from there.
      if (failed) {
        while (results.length < messages.length) results.push(failed);
        break;
      }
    }
    return results;
  }

  async deadLetter(message: QueuedMessage, reason: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queues.dlqUrl,
        MessageBody: message.body,
        MessageGroupId: message.groupId,
        // Not the change's own id: a change rejected again after a redrive, within the queue's
        // five-minute deduplication window, would otherwise be dropped as a duplicate.
        MessageDeduplicationId: randomUUID(),
        MessageAttributes: { reason: { DataType: "String", StringValue: reason.slice(0, 1000) } },
      }),
    );
  }

  async release(receiptHandles: string[], afterSeconds = 0): Promise<void> {
    for (let start = 0; start < receiptHandles.length; start += BATCH) {
      await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queues.queueUrl,
          Entries: receiptHandles.slice(start, start + BATCH).map((handle, index) => ({
            Id: String(index),
            ReceiptHandle: handle,
            VisibilityTimeout: afterSeconds,
          })),
        }),
      );
    }
  }

  async redrive(): Promise<void> {
    const { Results = [] } = await this.client.send(
      new ListMessageMoveTasksCommand({ SourceArn: this.queues.dlqArn, MaxResults: 1 }),
    );
    const running = Results.find((task) => task.Status === "RUNNING");
    if (running) {
      throw conflict(
        `the dead-letter queue is already being moved back (${running.ApproximateNumberOfMessagesMoved ?? 0} of ${running.ApproximateNumberOfMessagesToMove ?? "?"} messages); resume again once that has finished`,
      );
    }
    if ((await this.depths()).deadLettered === 0) return;
    await this.client.send(
      new StartMessageMoveTaskCommand({
        SourceArn: this.queues.dlqArn,
        DestinationArn: this.queues.queueArn,
      }),
    );
  }

  async depths() {
    const [queue, dlq] = await Promise.all(
      [this.queues.queueUrl, this.queues.dlqUrl].map((QueueUrl) =>
        this.client.send(
          new GetQueueAttributesCommand({
            QueueUrl,
            AttributeNames: [
              "ApproximateNumberOfMessages",
              "ApproximateNumberOfMessagesNotVisible",
            ],
          }),
        ),
      ),
    );
    const count = (attributes: typeof queue, name: string) =>
      Number(attributes?.Attributes?.[name as "ApproximateNumberOfMessages"] ?? 0);
    return {
      queued: count(queue, "ApproximateNumberOfMessages"),
      inFlight: count(queue, "ApproximateNumberOfMessagesNotVisible"),
      deadLettered:
        count(dlq, "ApproximateNumberOfMessages") +
        count(dlq, "ApproximateNumberOfMessagesNotVisible"),
    };
  }
}
