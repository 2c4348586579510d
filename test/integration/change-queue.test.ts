import { randomUUID } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, inject, it } from "vitest";
import { createCaptureHandler } from "../../functions/capture/app.ts";
import { lambdaContext } from "../../infra/local/lambda-context.ts";
import { createQueues } from "../../infra/local/pipeline.ts";
import { createRequestCounter } from "../../infra/local/request-counter.ts";
import { SqsChangeQueue } from "../../shared/adapters/sqs-change-queue.ts";
import type { ConfigItem } from "../../shared/model/items.ts";
import { messageGroup, single, unpack } from "../../shared/sync/capture.ts";
import { waitFor } from "../support/wait.ts";

const sqsClient = () =>
  new SQSClient({
    endpoint: inject("sqsEndpoint"),
    region: "local",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
const sqs = sqsClient();

const group = (domain: string, id: string): ConfigItem => ({
  pk: `DOMAIN#${domain}`,
  sk: `GROUP#${id}`,
  kind: "group",
  id,
  domain,
  version: 1_000,
  origin: "prod",
  updatedAt: 1,
  data: { description: `group ${id}` },
});

/** A stream record as Lambda hands it to capture: an INSERT of `item`. */
const record = (item: ConfigItem, sequence: number): DynamoDBRecord => ({
  eventID: `event-${sequence}`,
  eventName: "INSERT",
  dynamodb: {
    SequenceNumber: String(sequence),
    NewImage: marshall(item) as NonNullable<DynamoDBRecord["dynamodb"]>["NewImage"],
  },
});

/** Receives and deletes everything the queue holds, in queue order. */
async function drain(queueUrl: string) {
  const received: { groupId: string; items: ConfigItem[] }[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        // local-aws-sqs only reads the older AttributeNames parameter.
        AttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return received;
    for (const message of Messages) {
      received.push({
        groupId: message.Attributes?.MessageGroupId ?? "",
        items: unpack(message.Body ?? ""),
      });
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
}

async function captureInto() {
  const client = sqsClient();
  const counter = createRequestCounter();
  counter.attach(client);
  const queues = await createQueues(sqs, `capture-${randomUUID()}`);
  const queue = new SqsChangeQueue(client, queues);
  const capture = createCaptureHandler({
    serverId: "prod",
    failoverSettings: { get: async () => ({ enabled: true, autoSync: true }) as never },
    queue,
    history: { record: async () => {}, list: () => Promise.reject(new Error("not used")) },
    historyDays: 7,
    now: Date.now,
    logger: new Logger({ logLevel: "SILENT" }),
  });
  return {
    queues,
    queue,
    counter,
    capture: (records: DynamoDBRecord[]) => capture({ Records: records }, lambdaContext("capture")),
  };
}

describe("capture packs a stream batch into the FIFO queue (R7, R8)", () => {
  it("queues one message per message group with its changes in stream order; the retried batch adds nothing", async () => {
    const { queues, counter, capture } = await captureInto();
    const items = [group("a", "1"), group("f", "1"), group("a", "2"), group("f", "2")];
    const records = items.map(record);

    expect(await capture(records)).toEqual({ batchItemFailures: [] });
    expect(await capture(records)).toEqual({ batchItemFailures: [] });

    expect(counter.snapshot()["SQS.SendMessageBatch"]).toBe(2);
    expect(await drain(queues.queueUrl)).toEqual([
      { groupId: messageGroup(group("a", "1")), items: [items[0], items[2]] },
      { groupId: messageGroup(group("f", "1")), items: [items[1], items[3]] },
    ]);
  });

  it("sends messages in SendMessageBatch requests of at most ten, in order", async () => {
    const { queues, queue, counter } = await captureInto();
    const items = Array.from({ length: 25 }, (_, n) => group(`d${n}`, `g${n}`));

    expect(await queue.sendInOrder(items.map(single))).toEqual(items.map(() => true));

    expect(counter.snapshot()["SQS.SendMessageBatch"]).toBe(3);
    const received = await drain(queues.queueUrl);
    expect(received.flatMap((message) => message.items)).toEqual(items);
  });
});

describe("the change queue's dead-letter queue (R10)", () => {
  it("keeps a change rejected twice within the deduplication window twice", async () => {
    // After a redrive, the failover may reject the same change again within five minutes.
    const queue = new SqsChangeQueue(sqs, await createQueues(sqs, `dlq-${randomUUID()}`));
    const message = single(group("acme", "g"));

    await queue.deadLetter(message, "invalid service: port");
    await queue.deadLetter(message, "invalid service: port");

    expect((await queue.depths()).deadLettered).toBe(2);
  });
});

describe("the change queue's depths (R20)", () => {
  it("counts a message handed out once: in flight, not also queued, as SQS does", async () => {
    const queues = await createQueues(sqs, `depths-${randomUUID()}`);
    const queue = new SqsChangeQueue(sqs, queues);
    const change = { body: '{"item":{}}', groupId: "acme", deduplicationId: "stream-event-2" };
    expect(await queue.sendInOrder([change])).toEqual([true]);
    // Counts are approximate, in SQS as in the emulator (it marks a message sent with no delay
    // as delayed until its 0 ms timer runs): wait for the count rather than read it once.
    const sent = { queued: 1, inFlight: 0, deadLettered: 0 };
    await waitFor(
      async () => JSON.stringify(await queue.depths()) === JSON.stringify(sent),
      2_000,
      "the sent message counted as queued",
    );

    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, VisibilityTimeout: 30 }),
    );
    expect(received.Messages).toHaveLength(1);

    expect(await queue.depths()).toEqual({ queued: 0, inFlight: 1, deadLettered: 0 });
  });
});
