import { setTimeout as delay } from "node:timers/promises";
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorInput,
  type AttributeValue as SdkAttributeValue,
  type Shard,
} from "@aws-sdk/client-dynamodb-streams";
import type {
  AttributeValue,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  DynamoDBStreamHandler,
} from "aws-lambda";

/** A Lambda handler for stream events, called with the event only. */
export type StreamHandler = (event: DynamoDBStreamEvent) => ReturnType<DynamoDBStreamHandler>;
type HandlerResult = Awaited<ReturnType<DynamoDBStreamHandler>>;

export interface StreamSourceOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly handler: StreamHandler;
  /** Records per invocation (Lambda's default for DynamoDB streams is 100). */
  readonly batchSize?: number;
  /** Start of shards open at start-up (default TRIM_HORIZON); later shards are read in full. */
  readonly startingPosition?: "TRIM_HORIZON" | "LATEST";
  /** Delay between GetRecords calls that return nothing (Lambda polls 4 times a second). */
  readonly pollIntervalMs?: number;
  /** Retries of a failing batch before `onFailure` gets it; -1 (Lambda's default): forever. */
  readonly maximumRetryAttempts?: number;
  /** Split a batch in two when the handler throws, to isolate the bad record. */
  readonly bisectBatchOnFunctionError?: boolean;
  /** First delay before retrying a batch; it doubles on each consecutive failure (capped). */
  readonly retryBackoffMs?: number;
  /** Last processed sequence number per shard id, to resume where a previous run stopped. */
  readonly checkpoint?: Readonly<Record<string, string>>;
  /** Called after each batch is handled (or skipped) so that the caller can persist progress. */
  readonly onCheckpoint?: (shardId: string, sequenceNumber: string) => void | Promise<void>;
  /** The on-failure destination: records whose retries are exhausted, before they are skipped. */
  readonly onFailure?: (records: DynamoDBRecord[], reason: string) => void | Promise<void>;
  /** Handler and polling errors (Lambda would write them to the function's logs). */
  readonly onError?: (error: unknown) => void;
}

export interface StreamSource {
  /** Stops polling and resolves once the in-flight batches have finished. */
  stop(): Promise<void>;
}

interface Batch {
  readonly records: DynamoDBRecord[];
  /** Retries already made; bisected halves inherit it (splitting is not a retry, as in Lambda). */
  readonly attempts: number;
}

type Position = Omit<GetShardIteratorInput, "StreamArn" | "ShardId">;

interface ShardReader {
  readonly shardId: string;
  /** Absent once a closed shard has been read to its end. */
  iterator: string | undefined;
  /** Set after a failed read: the iterator may have expired. */
  stale: boolean;
  /** Where a new iterator starts: after the last fetched record. */
  resumeAt: Position;
  /** Fetched records not yet handed to the handler. */
  readonly buffer: DynamoDBRecord[];
  /** Batches to deliver before the buffer: retries and bisected halves, in stream order. */
  readonly pending: Batch[];
  /** Consecutive failed invocations, for the backoff. */
  failures: number;
}

/** Invocation result: undefined when every record succeeded. */
type Failure = { readonly retryFrom: number; readonly reason: string; readonly thrown: boolean };

const MAX_BACKOFF_MS = 5_000;
const SHARD_DISCOVERY_MS = 1_000;

/**
 * Plays Lambda's DynamoDB Streams event source mapping: one reader per shard (parents before
 * children), records of a shard delivered in order with one batch in flight, partial batch
 * responses, retries with backoff, bisection and an on-failure destination.
 */
export async function startStreamSource(options: StreamSourceOptions): Promise<StreamSource> {
  const { client, streamArn, handler } = options;
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const maximumRetryAttempts = options.maximumRetryAttempts ?? -1;
  const retryBackoffMs = options.retryBackoffMs ?? 500;
  const onError = options.onError ?? ((error) => console.error("[stream-source]", error));
  const stopping = new AbortController();
  const sleep = (ms: number) =>
    delay(ms, undefined, { signal: stopping.signal }).catch(() => undefined);

  const started = new Set<string>();
  const finished = new Set<string>();
  const readers = new Set<Promise<void>>();
  let shardFinished = false;

  /** Lambda reads a shard only after its parent is done, so that a key's changes stay in order. */
  function isReady(shard: Shard, known: Set<string>): boolean {
    const parent = shard.ParentShardId;
    return !parent || finished.has(parent) || !known.has(parent);
  }

  async function discover(initial: boolean): Promise<void> {
    shardFinished = false;
    const shards = await describeShards(client, streamArn);
    const known = new Set(shards.flatMap((shard) => (shard.ShardId ? [shard.ShardId] : [])));
    for (const shard of shards) {
      const shardId = shard.ShardId;
      if (!shardId || started.has(shardId)) continue;
      const position = startPosition(shard, shardId, initial, known);
      if (position === "skip") finished.add(shardId);
      else if (position) await startReader(shardId, position);
    }
  }

  /** Undefined while the shard must wait for its parent. */
  function startPosition(
    shard: Shard,
    shardId: string,
    initial: boolean,
    known: Set<string>,
  ): Position | "skip" | undefined {
    const checkpoint = options.checkpoint?.[shardId];
    if (initial && !checkpoint && options.startingPosition === "LATEST") {
      // A closed shard holds no new records; an open one is read from its tip.
      if (shard.SequenceNumberRange?.EndingSequenceNumber) return "skip";
      return { ShardIteratorType: "LATEST" };
    }
    if (!isReady(shard, known)) return undefined;
    return checkpoint
      ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: checkpoint }
      : { ShardIteratorType: "TRIM_HORIZON" };
  }

  async function startReader(shardId: string, resumeAt: Position): Promise<void> {
    const iterator = await shardIterator(shardId, resumeAt);
    started.add(shardId);
    const reader: ShardReader = {
      shardId,
      resumeAt,
      iterator,
      stale: false,
      buffer: [],
      pending: [],
      failures: 0,
    };
    const running = readShard(reader).finally(() => {
      readers.delete(running);
      finished.add(shardId);
      shardFinished = true;
    });
    readers.add(running);
  }

  async function readShard(reader: ShardReader): Promise<void> {
    while (!stopping.signal.aborted) {
      const batch = reader.pending.shift() ?? takeBatch(reader.buffer, batchSize);
      if (batch) {
        await deliverSafely(reader, batch);
      } else if (reader.iterator === undefined) {
        return;
      } else if ((await fetchSafely(reader)) === 0) {
        await sleep(pollIntervalMs);
      }
    }
  }

  async function fetchSafely(reader: ShardReader): Promise<number> {
    try {
      return await fetchRecords(reader);
    } catch (error) {
      onError(error);
      reader.stale = true;
      await sleep(retryBackoffMs);
      return 0;
    }
  }

  async function fetchRecords(reader: ShardReader): Promise<number> {
    // Iterators expire (after 15 minutes on AWS): after a failed read, resume from a fresh one.
    if (reader.stale) reader.iterator = await shardIterator(reader.shardId, reader.resumeAt);
    reader.stale = false;
    const output = await client.send(new GetRecordsCommand({ ShardIterator: reader.iterator }));
    reader.iterator = output.NextShardIterator;
    const records = (output.Records ?? []).map((record) => toLambdaRecord(record, streamArn));
    records.sort((a, b) => compareSequenceNumbers(sequenceNumber(a), sequenceNumber(b)));
    const last = records.at(-1);
    if (last) {
      reader.buffer.push(...records);
      reader.resumeAt = {
        ShardIteratorType: "AFTER_SEQUENCE_NUMBER",
        SequenceNumber: sequenceNumber(last),
      };
    }
    return records.length;
  }

  async function shardIterator(shardId: string, position: Position): Promise<string | undefined> {
    const input = { StreamArn: streamArn, ShardId: shardId, ...position };
    return (await client.send(new GetShardIteratorCommand(input))).ShardIterator;
  }

  /** A failing onFailure/onCheckpoint keeps the batch for another try rather than losing it. */
  async function deliverSafely(reader: ShardReader, batch: Batch): Promise<void> {
    try {
      await deliver(reader, batch);
    } catch (error) {
      onError(error);
      reader.pending.unshift(batch);
      await sleep(backoff(++reader.failures));
    }
  }

  async function deliver(reader: ShardReader, batch: Batch): Promise<void> {
    const failure = await invoke(batch.records);
    if (!failure) {
      reader.failures = 0;
      return checkpoint(reader, batch.records);
    }
    // Lambda checkpoints before the lowest failed sequence number and retries from there.
    await checkpoint(reader, batch.records.slice(0, failure.retryFrom));
    const rest = batch.records.slice(failure.retryFrom);
    if (failure.thrown && options.bisectBatchOnFunctionError && rest.length > 1) {
      const half = Math.ceil(rest.length / 2);
      reader.pending.unshift(
        { records: rest.slice(0, half), attempts: batch.attempts },
        { records: rest.slice(half), attempts: batch.attempts },
      );
    } else if (maximumRetryAttempts >= 0 && batch.attempts >= maximumRetryAttempts) {
      await options.onFailure?.(rest, `Retry attempts exhausted: ${failure.reason}`);
      return checkpoint(reader, rest);
    } else {
      reader.pending.unshift({ records: rest, attempts: batch.attempts + 1 });
    }
    await sleep(backoff(++reader.failures));
  }

  async function invoke(records: DynamoDBRecord[]): Promise<Failure | undefined> {
    try {
      return partialFailure(await handler({ Records: records }), records);
    } catch (error) {
      onError(error);
      return { retryFrom: 0, reason: errorMessage(error), thrown: true };
    }
  }

  async function checkpoint(reader: ShardReader, records: DynamoDBRecord[]): Promise<void> {
    const last = records.at(-1);
    if (last) await options.onCheckpoint?.(reader.shardId, sequenceNumber(last));
  }

  function backoff(failures: number): number {
    return Math.min(retryBackoffMs * 2 ** (failures - 1), MAX_BACKOFF_MS);
  }

  /** New shards appear when a shard closes, so look again once a reader finishes (or has none). */
  async function discoverShards(): Promise<void> {
    while (!stopping.signal.aborted) {
      await sleep(SHARD_DISCOVERY_MS);
      if (stopping.signal.aborted || (readers.size > 0 && !shardFinished)) continue;
      await discover(false).catch(onError);
    }
  }

  try {
    await discover(true);
  } catch (error) {
    stopping.abort();
    await Promise.all(readers);
    throw error;
  }
  const discovery = discoverShards();
  return {
    async stop() {
      stopping.abort();
      await discovery;
      await Promise.all(readers);
    },
  };
}

async function describeShards(client: DynamoDBStreamsClient, streamArn: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let exclusiveStartShardId: string | undefined;
  do {
    const { StreamDescription: description } = await client.send(
      new DescribeStreamCommand({
        StreamArn: streamArn,
        ExclusiveStartShardId: exclusiveStartShardId,
      }),
    );
    shards.push(...(description?.Shards ?? []));
    exclusiveStartShardId = description?.LastEvaluatedShardId;
  } while (exclusiveStartShardId);
  return shards;
}

function takeBatch(buffer: DynamoDBRecord[], batchSize: number): Batch | undefined {
  const records = buffer.splice(0, batchSize);
  return records.length > 0 ? { records, attempts: 0 } : undefined;
}

/**
 * Reads a ReportBatchItemFailures response. Like Lambda, an identifier that is missing or not in
 * the batch makes the whole batch a failure.
 */
function partialFailure(response: HandlerResult, records: DynamoDBRecord[]): Failure | undefined {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return undefined;
  const indexes = failures.map(({ itemIdentifier }) =>
    records.findIndex((record) => itemIdentifier && sequenceNumber(record) === itemIdentifier),
  );
  if (indexes.includes(-1)) {
    return { retryFrom: 0, reason: "Invalid batchItemFailures in the response", thrown: true };
  }
  const reason = `${failures.length} record(s) reported in batchItemFailures`;
  return { retryFrom: Math.min(...indexes), reason, thrown: false };
}

/** The record as Lambda puts it in the event: plain JSON, creation time in epoch seconds. */
function toLambdaRecord(record: _Record, eventSourceARN: string): DynamoDBRecord {
  const change = record.dynamodb;
  const created = change?.ApproximateCreationDateTime;
  return withoutUndefined({
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? "1.1",
    eventSource: record.eventSource ?? "aws:dynamodb",
    awsRegion: record.awsRegion,
    dynamodb:
      change &&
      withoutUndefined({
        ApproximateCreationDateTime: created && Math.floor(created.getTime() / 1000),
        Keys: toJsonImage(change.Keys),
        NewImage: toJsonImage(change.NewImage),
        OldImage: toJsonImage(change.OldImage),
        SequenceNumber: change.SequenceNumber,
        SizeBytes: change.SizeBytes,
        StreamViewType: change.StreamViewType,
      }),
    eventSourceARN,
    // TTL deletions carry the service identity, in Lambda's lower-case keys.
    userIdentity: record.userIdentity && {
      type: record.userIdentity.Type,
      principalId: record.userIdentity.PrincipalId,
    },
  });
}

function toJsonImage(
  image: Record<string, SdkAttributeValue> | undefined,
): Record<string, AttributeValue> | undefined {
  if (!image) return undefined;
  return Object.fromEntries(
    Object.entries(image).map(([name, value]) => [name, toJsonValue(value)]),
  );
}

/** The SDK decodes binaries to bytes; Lambda's event carries them base64-encoded. */
function toJsonValue(value: SdkAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(toJsonValue) };
  if (value.M !== undefined) return { M: toJsonImage(value.M) ?? {} };
  // The SDK's DynamoDB Streams client decodes an empty map `{"M":{}}` as `{}`.
  if (Object.keys(value).length === 0) return { M: {} };
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  throw new Error(`Unsupported attribute value ${JSON.stringify(value)}`);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

function sequenceNumber(record: DynamoDBRecord): string {
  return record.dynamodb?.SequenceNumber ?? "";
}

/** Sequence numbers are decimal strings of varying length: compare them as numbers. */
function compareSequenceNumbers(a: string, b: string): number {
  const difference = BigInt(a || 0) - BigInt(b || 0);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Lambda's JSON events omit absent fields rather than carrying them as null. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
