import { randomUUID } from "node:crypto";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, inject, it } from "vitest";
import { createQueues } from "../../infra/local/pipeline.ts";
import { SqsChangeQueue } from "../../shared/adapters/sqs-change-queue.ts";

const sqs = new SQSClient({
  endpoint: inject("sqsEndpoint"),
  region: "local",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});

describe("the change queue's dead-letter queue (R10)", () => {
  it("keeps a change rejected twice within the deduplication window twice", async () => {
    // After a redrive, the failover may reject the same change again within five minutes.
    const queue = new SqsChangeQueue(sqs, await createQueues(sqs, `dlq-${randomUUID()}`));
    const change = { body: '{"item":{}}', groupId: "acme", deduplicationId: "stream-event-1" };

    await queue.deadLetter(change, "invalid service: port");
    await queue.deadLetter(change, "invalid service: port");

    expect((await queue.depths()).deadLettered).toBe(2);
  });
});

describe("the change queue's depths (R20)", () => {
  it("counts a message handed out once: in flight, not also queued, as SQS does", async () => {
    const queues = await createQueues(sqs, `depths-${randomUUID()}`);
    const queue = new SqsChangeQueue(sqs, queues);
    const change = { body: '{"item":{}}', groupId: "acme", deduplicationId: "stream-event-2" };
    await queue.sendInOrder([change]);
    expect(await queue.depths()).toEqual({ queued: 1, inFlight: 0, deadLettered: 0 });

    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, VisibilityTimeout: 30 }),
    );
    expect(received.Messages).toHaveLength(1);

    expect(await queue.depths()).toEqual({ queued: 0, inFlight: 1, deadLettered: 0 });
  });
});
