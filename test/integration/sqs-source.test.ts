import { createHash, randomUUID } from "node:crypto";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import {
  type SqsSource,
  type SqsSourceOptions,
  startSqsSource,
} from "../../infra/local/sqs-source.ts";
import { waitFor } from "../support/wait.ts";

const sqs = new SQSClient({
  endpoint: inject("sqsEndpoint"),
  region: "local",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});

interface Queues {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
}

/** A FIFO queue with a 1 s visibility timeout and a FIFO dead-letter queue. */
async function createQueues(maxReceiveCount = 2): Promise<Queues> {
  const id = randomUUID();
  const dlqUrl = await createQueue(`dlq-${id}.fifo`, { FifoQueue: "true" });
  const queueUrl = await createQueue(`src-${id}.fifo`, {
    FifoQueue: "true",
    VisibilityTimeout: "1",
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlqUrl), maxReceiveCount }),
  });
  return { queueUrl, queueArn: await arnOf(queueUrl), dlqUrl };
}

async function createQueue(name: string, attributes: Record<string, string>): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  if (!QueueUrl) throw new Error(`no URL for ${name}`);
  return QueueUrl;
}

async function attributes(queueUrl: string): Promise<Record<string, string>> {
  const output = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }),
  );
  return output.Attributes ?? {};
}

async function arnOf(queueUrl: string): Promise<string> {
  return (await attributes(queueUrl)).QueueArn ?? "";
}

/** Messages in the queue, visible or in flight (not yet deleted). */
async function depth(queueUrl: string): Promise<number> {
  const { ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible } =
    await attributes(queueUrl);
  return Number(ApproximateNumberOfMessages) + Number(ApproximateNumberOfMessagesNotVisible);
}

async function send(
  queueUrl: string,
  body: string,
  group = "g",
  messageAttributes?: Record<string, MessageAttributeValue>,
): Promise<string> {
  const { MessageId } = await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: body,
      MessageAttributes: messageAttributes,
    }),
  );
  return MessageId ?? "";
}

/** A source that is stopped when the test ends. */
async function start(options: Omit<SqsSourceOptions, "client">): Promise<SqsSource> {
  const source = await startSqsSource({ client: sqs, ...options });
  onTestFinished(() => source.stop());
  return source;
}

const bodies = (records: SQSRecord[]) => records.map((record) => record.body);
const quiet = () => undefined;

describe("startSqsSource", () => {
  it("with parallel pollers, never runs one message group in two invocations at once", async () => {
    const { queueUrl } = await createQueues();
    const sent = ["a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4", "a5", "b5", "a6", "c1"];
    for (const body of sent) await send(queueUrl, body, body.slice(0, 1));
    const running = new Set<string>();
    const overlaps: string[] = [];
    const seen: string[] = [];
    let first = true;
    await start({
      queueUrl,
      concurrency: 3,
      batchSize: 2,
      handler: async (event) => {
        const groups = [...new Set(event.Records.map((r) => r.attributes.MessageGroupId ?? ""))];
        for (const group of groups) if (running.has(group)) overlaps.push(group);
        for (const group of groups) running.add(group);
        seen.push(...bodies(event.Records));
        if (first) {
          first = false;
          // Hold the first batch until the other pollers have received messages of its groups.
          await waitFor(
            async () =>
              Number((await attributes(queueUrl)).ApproximateNumberOfMessagesNotVisible) >= 6,
          );
        }
        for (const group of groups) running.delete(group);
      },
    });
    await waitFor(() => seen.length === sent.length, 10_000);
    expect(overlaps).toEqual([]);
    const inGroup = (group: string) => seen.filter((body) => body.startsWith(group));
    expect(inGroup("a")).toEqual(["a1", "a2", "a3", "a4", "a5", "a6"]);
    expect(inGroup("b")).toEqual(["b1", "b2", "b3", "b4", "b5"]);
  });

  it("as SQS hands FIFO messages out, fills a batch with one group's messages and runs other groups' batches side by side", async () => {
    const { queueUrl } = await createQueues();
    // Interleaved in the queue, as capture sends a burst across groups.
    const sent = Array.from({ length: 10 }, (_, n) => [`a${n}`, `b${n}`]).flat();
    for (const body of sent) await send(queueUrl, body, body.slice(0, 1));
    const batches: string[][] = [];
    let running = 0;
    let sideBySide = false;
    await start({
      queueUrl,
      concurrency: 2,
      handler: async (event) => {
        batches.push(bodies(event.Records));
        running += 1;
        sideBySide ||= await waitFor(() => running === 2, 2_000).catch(() => false);
        running -= 1;
      },
    });

    await waitFor(() => batches.flat().length === sent.length, 10_000);
    expect(batches.map((batch) => batch.join())).toEqual(
      expect.arrayContaining([
        sent.filter((b) => b.startsWith("a")).join(),
        sent.filter((b) => b.startsWith("b")).join(),
      ]),
    );
    expect(batches).toHaveLength(2);
    expect(sideBySide).toBe(true);
    await waitFor(async () => (await depth(queueUrl)) === 0);
  });

  it("delivers in group order with Lambda's record shape, then deletes the messages", async () => {
    const { queueUrl, queueArn } = await createQueues();
    const messageId = await send(queueUrl, "a1", "a", {
      text: { DataType: "String", StringValue: "hello" },
      bytes: { DataType: "Binary", BinaryValue: Buffer.from("hi") },
    });
    for (const body of ["b1", "a2", "b2", "a3"]) await send(queueUrl, body, body.slice(0, 1));
    const records: SQSRecord[] = [];
    await start({ queueUrl, handler: async (event) => void records.push(...event.Records) });

    await waitFor(() => records.length === 5);
    const inGroup = (group: string) =>
      bodies(records.filter((record) => record.attributes.MessageGroupId === group));
    expect(inGroup("a")).toEqual(["a1", "a2", "a3"]);
    expect(inGroup("b")).toEqual(["b1", "b2"]);
    const digits = expect.stringMatching(/^\d+$/);
    expect(records[0]).toStrictEqual({
      messageId,
      receiptHandle: expect.any(String),
      body: "a1",
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: digits,
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: digits,
        MessageGroupId: "a",
        MessageDeduplicationId: "a1",
        SequenceNumber: digits,
      },
      messageAttributes: {
        text: {
          stringValue: "hello",
          stringListValues: [],
          binaryListValues: [],
          dataType: "String",
        },
        bytes: {
          binaryValue: "aGk=",
          stringListValues: [],
          binaryListValues: [],
          dataType: "Binary",
        },
      },
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      md5OfBody: createHash("md5").update("a1").digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: queueArn,
      awsRegion: "local",
    });
    await waitFor(async () => (await depth(queueUrl)) === 0);
  });

  it("redelivers only the messages reported in batchItemFailures", async () => {
    const { queueUrl } = await createQueues();
    for (const body of ["m1", "m2", "m3"]) await send(queueUrl, body);
    const calls: SQSRecord[][] = [];
    await start({
      queueUrl,
      handler: async ({ Records }) => {
        calls.push(Records);
        const failed = calls.length === 1 ? Records.filter((record) => record.body === "m2") : [];
        return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });

    await waitFor(() => calls.length === 2);
    expect(calls.map(bodies)).toEqual([["m1", "m2", "m3"], ["m2"]]);
    expect(calls[1]?.[0]?.attributes.ApproximateReceiveCount).toBe("2");
    await waitFor(async () => (await depth(queueUrl)) === 0);
  });

  it("leaves the messages of a failed invocation to the queue's redrive policy", async () => {
    const { queueUrl, dlqUrl } = await createQueues(2);
    await send(queueUrl, "poison");
    const receiveCounts: string[] = [];
    await start({
      queueUrl,
      onError: quiet,
      handler: async ({ Records }) => {
        receiveCounts.push(...Records.map((record) => record.attributes.ApproximateReceiveCount));
        throw new Error("boom");
      },
    });

    await waitFor(async () => (await depth(dlqUrl)) === 1);
    expect(receiveCounts).toEqual(["1", "2"]);
    expect(await depth(queueUrl)).toBe(0);
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl }));
    expect(Messages?.map((message) => message.Body)).toEqual(["poison"]);
  });

  it("stop() waits for the in-flight invocation and deletes what succeeded", async () => {
    const { queueUrl } = await createQueues();
    await send(queueUrl, "slow");
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let invoked = false;
    const source = await start({
      queueUrl,
      handler: async () => {
        invoked = true;
        await released;
      },
    });
    await waitFor(() => invoked);

    let stopped = false;
    const stopping = source.stop().then(() => {
      stopped = true;
    });
    try {
      expect(await depth(queueUrl)).toBe(1);
      expect(stopped).toBe(false);
    } finally {
      release();
    }
    await stopping;
    expect(await depth(queueUrl)).toBe(0);
  });

  it("pause() keeps the source off the queue until resume()", async () => {
    // local-aws-sqs counts ChangeMessageVisibility as a receive: leave room before the DLQ.
    const { queueUrl } = await createQueues(5);
    const delivered: string[] = [];
    const source = await start({
      queueUrl,
      handler: async (event) => void delivered.push(...bodies(event.Records)),
    });
    await source.pause();
    await send(queueUrl, "while-paused");
    // Only a paused source lets another consumer take the message.
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }),
    );
    const receiptHandle = Messages?.[0]?.ReceiptHandle;
    expect(receiptHandle).toBeDefined();
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    expect(delivered).toEqual([]);

    source.resume();
    await waitFor(() => delivered.length === 1);
    expect(delivered).toEqual(["while-paused"]);
  });
});
