import { setTimeout as delay } from "node:timers/promises";
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorInput,
  type Shard,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBRecord, DynamoDBStreamEvent, DynamoDBStreamHandler } from "aws-lambda";
import { type EventPattern, matchesPattern } from "../../shared/events/pattern.ts";
import { compareSequenceNumbers, sequenceNumber, toLambdaRecord } from "./stream-records.ts";

/** A Lambda handler for stream events, called with the event only. */
export type StreamHandler = (event: DynamoDBStreamEvent) => ReturnType<DynamoDBStreamHandler>;
type HandlerResult = Awaited<ReturnType<DynamoDBStreamHandler>>;

export interface StreamSourceOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly handler: StreamHandler;
  /**
   * The mapping's filter criteria: a record reaches the handler only if it matches one of these
   * patterns (EventBridge pattern syntax, as Lambda's); the others are dropped. None: all pass.
   */
  readonly filters?: readonly EventPattern[];
  /** Records per invocation (Lambda's default for DynamoDB streams is 100). */
  readonly batchSize?: number;
  /**
   * Lambda's MaximumBatchingWindowInSeconds (default 0): how long records are gathered, from the
   * first one read, before the handler is invoked; a batch goes earlier once it is full or at
   * Lambda's 6 MB payload. 0: each poll's records go at once.
   */
  readonly maximumBatchingWindowSeconds?: number;
  /** Start of shards open at start-up (default TRIM_HORIZON); later shards are read in full. */
  readonly startingPosition?: "TRIM_HORIZON" | "LATEST";
  /** Delay between GetRecords calls that return nothing (Lambda polls 4 times a second). */
  readonly pollIntervalMs?: number;
  /** Retries of a failing batch before `onFailure` gets it; -1 (Lambda's default): no limit. */
  readonly maximumRetryAttempts?: number;
  /**
   * A failing batch whose oldest record is older than this (by its ApproximateCreationDateTime)
   * goes to `onFailure` instead of another retry; -1 (Lambda's default): no limit.
   */
  readonly maximumRecordAgeSeconds?: number;
  /** The clock a record's age is measured with (epoch milliseconds). */
  readonly now?: () => number;
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
  readonly buffer: Buffered[];
  /** Batches to deliver before the buffer: retries and bisected halves, in stream order. */
  readonly pending: Batch[];
  /** Consecutive failed invocations, for the backoff. */
  failures: number;
}

/** A fetched record, its size in the event and when it was read (for the batching window). */
interface Buffered {
  readonly record: DynamoDBRecord;
  readonly bytes: number;
  readonly readAt: number;
}

/** Invocation result: undefined when every record succeeded. */
type Failure = { readonly retryFrom: number; readonly reason: string; readonly thrown: boolean };

const MAX_BACKOFF_MS = 5_000;
/** Lambda's payload limit for a synchronous invocation: what one batch's event may hold. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const EVENT_BYTES = Buffer.byteLength('{"Records":[]}');
const SHARD_DISCOVERY_MS = 1_000;

/**
 * Plays Lambda's DynamoDB Streams event source mapping: one reader per shard (parents before
 * children), records of a shard delivered in order with one batch in flight, partial batch
 * responses, retries with backoff, bisection and an on-failure destination.
 */
export async function startStreamSource(options: StreamSourceOptions): Promise<StreamSource> {
  const { client, streamArn, handler } = options;
  const batchSize = options.batchSize ?? 100;
  const batchingWindowMs = (options.maximumBatchingWindowSeconds ?? 0) * 1000;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const maximumRetryAttempts = options.maximumRetryAttempts ?? -1;
  const maximumRecordAgeSeconds = options.maximumRecordAgeSeconds ?? -1;
  const now = options.now ?? Date.now;
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
      const batch = reader.pending.shift() ?? dueBatch(reader);
      if (batch) {
        await deliverSafely(reader, batch);
      } else if (reader.iterator === undefined) {
        return;
      } else if ((await fetchSafely(reader)) === 0) {
        const gathering = reader.buffer[0];
        const windowLeft = gathering ? gathering.readAt + batchingWindowMs - performance.now() : 0;
        await sleep(gathering ? Math.max(0, Math.min(pollIntervalMs, windowLeft)) : pollIntervalMs);
      }
    }
  }

  /**
   * The next batch, once one is due (as Lambda invokes): full (batch size or 6 MB), the window
   * elapsed since its first record was read, or the shard read to its end.
   */
  function dueBatch(reader: ShardReader): Batch | undefined {
    const { buffer } = reader;
    const first = buffer[0];
    if (!first) return undefined;
    let count = 0;
    let bytes = EVENT_BYTES;
    for (const { bytes: size } of buffer) {
      if (count === batchSize || (count > 0 && bytes + size > MAX_PAYLOAD_BYTES)) break;
      bytes += size;
      count += 1;
    }
    const full = count === batchSize || count < buffer.length;
    const due =
      full || reader.iterator === undefined || performance.now() - first.readAt >= batchingWindowMs;
    if (!due) return undefined;
    return { records: buffer.splice(0, count).map(({ record }) => record), attempts: 0 };
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

  function passes(record: DynamoDBRecord): boolean {
    const filters = options.filters ?? [];
    return filters.length === 0 || filters.some((pattern) => matchesPattern(pattern, record));
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
      const kept = records.filter(passes);
      const readAt = performance.now();
      for (const record of kept) {
        const bytes = Buffer.byteLength(JSON.stringify(record)) + 1;
        reader.buffer.push({ record, bytes, readAt });
      }
      reader.resumeAt = {
        ShardIteratorType: "AFTER_SEQUENCE_NUMBER",
        SequenceNumber: sequenceNumber(last),
      };
      // Nothing is in flight while fetching: records all filtered out are done with, as in Lambda
      // (unless records gathered for the batching window wait before them).
      if (reader.buffer.length === 0) await checkpoint(reader, [last]);
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
    const bisect = failure.thrown && options.bisectBatchOnFunctionError && rest.length > 1;
    const condition = bisect ? undefined : givenUp(batch, rest);
    if (bisect) {
      const half = Math.ceil(rest.length / 2);
      reader.pending.unshift(
        { records: rest.slice(0, half), attempts: batch.attempts },
        { records: rest.slice(half), attempts: batch.attempts },
      );
    } else if (condition) {
      await options.onFailure?.(rest, `${condition}: ${failure.reason}`);
      return checkpoint(reader, rest);
    } else {
      reader.pending.unshift({ records: rest, attempts: batch.attempts + 1 });
    }
    await sleep(backoff(++reader.failures));
  }

  /** Why a failed batch is not retried (Lambda's on-failure conditions), if it is not. */
  function givenUp(batch: Batch, rest: DynamoDBRecord[]): string | undefined {
    const created = rest[0]?.dynamodb?.ApproximateCreationDateTime;
    if (
      maximumRecordAgeSeconds >= 0 &&
      created !== undefined &&
      now() - created * 1000 > maximumRecordAgeSeconds * 1000
    ) {
      return "Record age exceeded";
    }
    if (maximumRetryAttempts >= 0 && batch.attempts >= maximumRetryAttempts) {
      return "Retry attempts exhausted";
    }
    return undefined;
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

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
