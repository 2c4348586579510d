import { setTimeout as delay } from "node:timers/promises";
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type {
  SQSEvent,
  SQSHandler,
  SQSMessageAttribute,
  SQSRecord,
  SQSRecordAttributes,
} from "aws-lambda";

/** A Lambda handler for SQS events, called with the event only. */
export type SqsHandler = (event: SQSEvent) => ReturnType<SQSHandler>;
type HandlerResult = Awaited<ReturnType<SQSHandler>>;

export interface SqsSourceOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly handler: SqsHandler;
  /** Messages per invocation, 1 to 10 (Lambda's default is 10). */
  readonly batchSize?: number;
  /** How long to gather messages for a fuller batch once the first one arrived (default 0). */
  readonly maximumBatchingWindowMs?: number;
  /** Batches handled side by side; one FIFO message group is never in two at once (default 1). */
  readonly concurrency?: number;
  /**
   * Long-poll wait. Lambda waits 20 s; the default is 1 s because a ReceiveMessage in flight
   * cannot be cancelled without losing its messages, and stop() waits for it.
   */
  readonly waitTimeSeconds?: number;
  /** Handler, delete and polling errors (Lambda would write them to the function's logs). */
  readonly onError?: (error: unknown) => void;
}

export interface SqsSource {
  /** Stops receiving, like disabling the mapping; resolves once in-flight batches end. */
  pause(): Promise<void>;
  resume(): void;
  /** Stops receiving; resolves once in-flight invocations have finished and been deleted. */
  stop(): Promise<void>;
}

const MAX_BATCH_SIZE = 10;
const ERROR_BACKOFF_MS = 1_000;
const EMPTY_POLL_PAUSE_MS = 20;

/**
 * Plays Lambda's SQS event source mapping: pollers receive batches, invoke the handler and delete
 * what succeeded. Failed messages stay in the queue, so they return after the visibility timeout
 * and the queue's redrive policy moves them to its dead-letter queue (the SQS server does that).
 */
export async function startSqsSource(options: SqsSourceOptions): Promise<SqsSource> {
  const { client, queueUrl, handler } = options;
  const batchSize = Math.min(options.batchSize ?? MAX_BATCH_SIZE, MAX_BATCH_SIZE);
  const batchingWindowMs = options.maximumBatchingWindowMs ?? 0;
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const onError = options.onError ?? ((error) => console.error("[sqs-source]", error));
  const queueArn = await getQueueArn(client, queueUrl);
  const awsRegion = queueArn.split(":")[3] ?? "";

  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();
  /** Set while paused; settles on resume. */
  let resumed: Promise<void> | undefined;
  let unpause = () => {};
  const sleep = (ms: number) =>
    delay(ms, undefined, { signal: stopping.signal }).catch(() => undefined);

  const concurrency = options.concurrency ?? 1;
  /** The receive in progress, if any: pause() waits for it too. */
  let receiving: Promise<unknown> | undefined;

  /** Received messages not yet handed to the handler, in queue order. */
  const waiting: Message[] = [];
  /** FIFO message groups with a batch in flight: SQS hands out none of their messages meanwhile. */
  const busy = new Set<string>();
  const lookahead = batchSize * concurrency;

  /**
   * One receiver, so messages leave the queue in its order, and up to `concurrency` batches
   * handled side by side (Lambda's FIFO event source runs different message groups in parallel).
   */
  async function poll(): Promise<void> {
    while (!stopping.signal.aborted) {
      if (resumed) {
        await resumed;
        continue;
      }
      if (inFlight.size >= concurrency) {
        await Promise.race(inFlight);
        continue;
      }
      // Look ahead while the queue hands messages out, so that a batch can be filled with one
      // group's messages, as SQS fills a FIFO receive.
      if (waiting.length < lookahead) {
        try {
          receiving = waiting.length === 0 ? receiveBatch() : receive(batchSize, 0);
          const messages = (await receiving) as Message[];
          for (const message of messages) wait(message);
          if (messages.length > 0) continue;
        } catch (error) {
          onError(error);
          await sleep(ERROR_BACKOFF_MS);
          continue;
        } finally {
          receiving = undefined;
        }
      }
      const batch = nextBatch();
      if (batch) dispatch(batch);
      // All that waits belongs to groups in flight: wait for one of them.
      else if (inFlight.size > 0) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await releaseWaiting();
  }

  /**
   * Adds a received message to those waiting. One handed out again (its visibility timeout ran
   * out while it waited) takes its earlier copy's place: only the newest receipt handle is valid.
   */
  function wait(message: Message): void {
    const earlier = waiting.findIndex((other) => other.MessageId === message.MessageId);
    if (earlier >= 0) waiting[earlier] = message;
    else waiting.push(message);
  }

  const groupOf = (message: Message) => message.Attributes?.MessageGroupId;
  const isFree = (message: Message) => {
    const group = groupOf(message);
    return group === undefined || !busy.has(group);
  };

  /**
   * The next batch as SQS hands FIFO messages out (the emulator ignores groups): the first
   * waiting message of a group not in flight and as many more of its group as fit, then the
   * next ones of other free groups; none while every waiting message's group is in flight.
   */
  function nextBatch(): Message[] | undefined {
    const first = waiting.find(isFree);
    if (!first) return undefined;
    const lead = groupOf(first);
    const picked = new Set(
      waiting.filter((message) => isFree(message) && groupOf(message) === lead).slice(0, batchSize),
    );
    for (const message of waiting) {
      if (picked.size >= batchSize) break;
      if (isFree(message)) picked.add(message);
    }
    const batch = waiting.filter((message) => picked.has(message));
    waiting.splice(0, waiting.length, ...waiting.filter((message) => !picked.has(message)));
    for (const message of batch) {
      const group = groupOf(message);
      if (group !== undefined) busy.add(group);
    }
    return batch;
  }

  function dispatch(messages: Message[]): void {
    const batch: Promise<void> = handleBatch(messages)
      .catch(onError)
      .finally(() => {
        inFlight.delete(batch);
        for (const message of messages) {
          const group = groupOf(message);
          if (group !== undefined) busy.delete(group);
        }
      });
    inFlight.add(batch);
  }

  /** Hands what was received but not invoked back to the queue (paused or stopped). */
  async function releaseWaiting(): Promise<void> {
    const released = waiting.splice(0);
    for (let start = 0; start < released.length; start += MAX_BATCH_SIZE) {
      const entries = released.slice(start, start + MAX_BATCH_SIZE).map((message, index) => ({
        Id: String(index),
        ReceiptHandle: message.ReceiptHandle ?? "",
        VisibilityTimeout: 0,
      }));
      await client
        .send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }))
        .catch(onError);
    }
  }

  /**
   * local-aws-sqs answers a long poll early only once MaxNumberOfMessages are ready, whereas SQS
   * answers as soon as any is: so long-poll for one message, then top up the batch with short
   * polls (for the batching window, if any).
   */
  async function receiveBatch(): Promise<Message[]> {
    const batch = await receive(1, waitTimeSeconds);
    if (batch.length === 0) return batch;
    const deadline = Date.now() + batchingWindowMs;
    while (batch.length < batchSize) {
      const more = await receive(batchSize - batch.length, 0);
      batch.push(...more);
      if (Date.now() >= deadline || stopping.signal.aborted) break;
      if (more.length === 0) await sleep(EMPTY_POLL_PAUSE_MS);
    }
    return batch;
  }

  async function receive(maxNumberOfMessages: number, waitSeconds: number): Promise<Message[]> {
    const output = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: maxNumberOfMessages,
        WaitTimeSeconds: waitSeconds,
        // local-aws-sqs only reads the older AttributeNames parameter.
        AttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
    );
    return output.Messages ?? [];
  }

  async function handleBatch(messages: Message[]): Promise<void> {
    const records = messages.map((message) => toLambdaRecord(message, queueArn, awsRegion));
    const failed = await invoke(records);
    await deleteMessages(records.filter((record) => !failed.has(record.messageId)));
  }

  /** The ids of the messages to leave in the queue. */
  async function invoke(records: SQSRecord[]): Promise<Set<string>> {
    try {
      return failedMessageIds(await handler({ Records: records }), records);
    } catch (error) {
      onError(error);
      return new Set(records.map((record) => record.messageId));
    }
  }

  async function deleteMessages(records: SQSRecord[]): Promise<void> {
    if (records.length === 0) return;
    const entries = records.map((record, index) => ({
      Id: String(index),
      ReceiptHandle: record.receiptHandle,
    }));
    const output = await client.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
    );
    for (const failure of output.Failed ?? []) {
      onError(new Error(`DeleteMessageBatch failed for entry ${failure.Id}: ${failure.Message}`));
    }
  }

  function resume(): void {
    resumed = undefined;
    unpause();
  }

  const poller = poll();
  return {
    async pause() {
      resumed ??= new Promise((resolve) => {
        unpause = resolve;
      });
      await Promise.all([...inFlight, receiving]);
      // Lambda holds no message for a disabled mapping: what waited goes back to the queue.
      await releaseWaiting();
    },
    resume,
    async stop() {
      stopping.abort();
      resume();
      await poller;
    },
  };
}

async function getQueueArn(client: SQSClient, queueUrl: string): Promise<string> {
  const output = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const arn = output.Attributes?.QueueArn;
  if (!arn) throw new Error(`No QueueArn for ${queueUrl}`);
  return arn;
}

/**
 * Reads a ReportBatchItemFailures response. Like Lambda, an identifier that is missing or not in
 * the batch makes the whole batch a failure.
 */
function failedMessageIds(response: HandlerResult, records: SQSRecord[]): Set<string> {
  const ids = new Set(records.map((record) => record.messageId));
  const failed = new Set((response?.batchItemFailures ?? []).map((item) => item.itemIdentifier));
  return [...failed].every((id) => ids.has(id)) ? failed : ids;
}

/** The message as Lambda puts it in the event. */
function toLambdaRecord(message: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  return withoutUndefined({
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: toLambdaAttributes(message.Attributes ?? {}),
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        toLambdaMessageAttribute(value),
      ]),
    ),
    md5OfMessageAttributes: message.MD5OfMessageAttributes,
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN,
    awsRegion,
  });
}

/** Lambda passes these system attributes; FIFO queues add the last three. */
function toLambdaAttributes(attributes: Partial<Record<string, string>>): SQSRecordAttributes {
  return withoutUndefined({
    ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "",
    SentTimestamp: attributes.SentTimestamp ?? "",
    SenderId: attributes.SenderId ?? "",
    ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? "",
    AWSTraceHeader: attributes.AWSTraceHeader,
    DeadLetterQueueSourceArn: attributes.DeadLetterQueueSourceArn,
    MessageGroupId: attributes.MessageGroupId,
    MessageDeduplicationId: attributes.MessageDeduplicationId,
    SequenceNumber: attributes.SequenceNumber,
  });
}

/** Lambda uses lower-camel keys, base64 for binaries and always carries both list fields. */
function toLambdaMessageAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  return withoutUndefined({
    stringValue: value.StringValue,
    binaryValue: value.BinaryValue && base64(value.BinaryValue),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType ?? "String",
  });
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** Lambda's JSON events omit absent fields rather than carrying them as null. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
