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
import type { ChangeQueue, QueuedChange } from "../ports.ts";

/** SQS's batch limit. */
const BATCH = 10;

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

  async sendInOrder(changes: QueuedChange[]): Promise<(true | Error)[]> {
    const results: (true | Error)[] = [];
    for (let start = 0; start < changes.length; start += BATCH) {
      const chunk = changes.slice(start, start + BATCH);
      let failed: Error | undefined;
      try {
        const { Failed = [] } = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queues.queueUrl,
            Entries: chunk.map((change, index) => ({
              Id: String(index),
              MessageBody: change.body,
              MessageGroupId: change.groupId,
              MessageDeduplicationId: change.deduplicationId,
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
        while (results.length < changes.length) results.push(failed);
        break;
      }
    }
    return results;
  }

  async deadLetter(change: QueuedChange, reason: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queues.dlqUrl,
        MessageBody: change.body,
        MessageGroupId: change.groupId,
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
