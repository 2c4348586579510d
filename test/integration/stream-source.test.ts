import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { type StreamSourceOptions, startStreamSource } from "../../infra/local/stream-source.ts";
import { waitFor } from "../support/wait.ts";

const config = {
  endpoint: inject("dynamoEndpoint"),
  region: "local",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
};
const dynamo = new DynamoDBClient(config);
const streams = new DynamoDBStreamsClient(config);

async function createTable(): Promise<{ tableName: string; streamArn: string }> {
  const tableName = `stream-source-${randomUUID()}`;
  const { TableDescription: table } = await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
    }),
  );
  const streamArn = table?.LatestStreamArn;
  if (!streamArn) throw new Error("table has no stream");
  return { tableName, streamArn };
}

async function put(tableName: string, ...keys: string[]): Promise<void> {
  for (const pk of keys) {
    await dynamo.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk } } }));
  }
}

type TestOptions = Omit<StreamSourceOptions, "client">;

/** A source that polls fast, backs off briefly and is stopped when the test ends. */
async function start(options: TestOptions): Promise<void> {
  const source = await startStreamSource({
    client: streams,
    startingPosition: "TRIM_HORIZON",
    pollIntervalMs: 25,
    retryBackoffMs: 10,
    ...options,
  });
  onTestFinished(() => source.stop());
}

const pkOf = (record: DynamoDBRecord) => record.dynamodb?.Keys?.pk?.S;
const sequenceOf = (record: DynamoDBRecord) => record.dynamodb?.SequenceNumber ?? "";
const quiet = () => undefined;

/** A handler that fails every batch holding the record `bad`; what it saw and what failed. */
function failsOnBad() {
  const calls: string[] = [];
  const failures: { keys: unknown[]; reason: string }[] = [];
  return {
    calls,
    failures,
    handler: async ({ Records }: { Records: DynamoDBRecord[] }) => {
      const keys = Records.map(pkOf);
      calls.push(keys.join());
      if (keys.includes("bad")) throw new Error("boom");
    },
    onFailure: (records: DynamoDBRecord[], reason: string) => {
      failures.push({ keys: records.map(pkOf), reason });
    },
  };
}

describe("startStreamSource", () => {
  it("delivers inserts, updates and removes in order, shaped like Lambda's records", async () => {
    const { tableName, streamArn } = await createTable();
    const records: DynamoDBRecord[] = [];
    const checkpoints: string[] = [];
    await start({
      streamArn,
      handler: async (event) => {
        records.push(...event.Records);
      },
      onCheckpoint: (_shardId, sequenceNumber) => {
        checkpoints.push(sequenceNumber);
      },
    });
    const key = { pk: { S: "a" } };
    const startedAt = Math.floor(Date.now() / 1000);
    await dynamo.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { ...key, blob: { B: Buffer.from("hi") }, empty: { M: {} } },
      }),
    );
    await dynamo.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: "SET n = :n",
        ExpressionAttributeValues: { ":n": { N: "1" } },
      }),
    );
    await dynamo.send(new DeleteItemCommand({ TableName: tableName, Key: key }));

    await waitFor(() => records.length === 3);
    const [insert, modify, remove] = records;
    const lambdaRecord = (eventName: string, images: object) => ({
      eventID: expect.any(String),
      eventName,
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: "ddblocal",
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        Keys: key,
        ...images,
        SequenceNumber: expect.stringMatching(/^\d+$/),
        SizeBytes: expect.any(Number),
        StreamViewType: "NEW_AND_OLD_IMAGES",
      },
      eventSourceARN: streamArn,
    });
    const inserted = { ...key, blob: { B: "aGk=" }, empty: { M: {} } };
    const modified = { ...inserted, n: { N: "1" } };
    expect(insert).toStrictEqual(lambdaRecord("INSERT", { NewImage: inserted }));
    expect(modify).toStrictEqual(
      lambdaRecord("MODIFY", { NewImage: modified, OldImage: inserted }),
    );
    expect(remove).toStrictEqual(lambdaRecord("REMOVE", { OldImage: modified }));

    const sequence = records.map((record) => BigInt(sequenceOf(record)));
    expect(sequence).toEqual([...sequence].sort((a, b) => (a < b ? -1 : 1)));
    // DynamoDB Local truncates creation times, so only check they are epoch seconds.
    const created = insert?.dynamodb?.ApproximateCreationDateTime ?? 0;
    expect(Number.isInteger(created)).toBe(true);
    expect(startedAt - created).toBeLessThan(120);
    await waitFor(() => checkpoints.at(-1) === sequenceOf(records[2] ?? {}));
  });

  it("retries from the first failed record after a partial batch failure", async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, "a", "b", "c");
    const calls: DynamoDBRecord[][] = [];
    const checkpoints: string[] = [];
    await start({
      streamArn,
      handler: async ({ Records }) => {
        calls.push(Records);
        const failed = calls.length === 1 ? Records.slice(1) : [];
        return { batchItemFailures: failed.map((r) => ({ itemIdentifier: sequenceOf(r) })) };
      },
      onCheckpoint: (_shardId, sequenceNumber) => {
        checkpoints.push(sequenceNumber);
      },
    });

    await waitFor(() => checkpoints.length === 2);
    expect(calls.map((records) => records.map(pkOf))).toEqual([
      ["a", "b", "c"],
      ["b", "c"],
    ]);
    expect(checkpoints).toEqual([sequenceOf(calls[0]?.[0] ?? {}), sequenceOf(calls[1]?.[1] ?? {})]);
  });

  it("hands a batch to onFailure once retries run out, and later records still flow", async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, "bad", "good");
    const { calls, failures, ...failingOnBad } = failsOnBad();
    await start({
      streamArn,
      batchSize: 1,
      maximumRetryAttempts: 2,
      onError: quiet,
      ...failingOnBad,
    });

    await waitFor(() => calls.includes("good"));
    expect(calls).toEqual(["bad", "bad", "bad", "good"]);
    expect(failures).toEqual([{ keys: ["bad"], reason: "Retry attempts exhausted: boom" }]);
  });

  it("with no retry limit (-1), retries a batch until its oldest record is older than maximumRecordAgeSeconds, then hands it to onFailure", async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, "bad", "good");
    const { calls, failures, ...failingOnBad } = failsOnBad();
    // DynamoDB Local truncates creation times (to the minute): the clock jumps ahead instead.
    let ahead = 0;
    await start({
      streamArn,
      batchSize: 1,
      // Topology's capture: no count, only the record's age ends the retries (issue 23.4).
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: 600,
      now: () => Date.now() + ahead,
      onError: quiet,
      ...failingOnBad,
    });

    await waitFor(() => calls.length >= 5, 10_000, "five tries of the failing record");
    expect(new Set(calls)).toEqual(new Set(["bad"]));
    expect(failures).toEqual([]);
    ahead = 3_600_000;
    await waitFor(() => calls.includes("good"), 10_000, "the record after the expired one");
    expect(calls.at(-1)).toBe("good");
    expect(failures).toEqual([{ keys: ["bad"], reason: "Record age exceeded: boom" }]);
  });

  it("bisects a failing batch to isolate the bad record", async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, "a", "b", "poison", "c");
    const calls: unknown[][] = [];
    const failed: unknown[][] = [];
    await start({
      streamArn,
      batchSize: 4,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 0,
      onError: quiet,
      handler: async ({ Records }) => {
        const keys = Records.map(pkOf);
        calls.push(keys);
        if (keys.includes("poison")) throw new Error("poison");
      },
      onFailure: (records) => {
        failed.push(records.map(pkOf));
      },
    });

    await waitFor(() => calls.length === 5);
    expect(calls).toEqual([
      ["a", "b", "poison", "c"],
      ["a", "b"],
      ["poison", "c"],
      ["poison"],
      ["c"],
    ]);
    expect(failed).toEqual([["poison"]]);
  });

  it("hands the handler only records that match the filter criteria, and checkpoints past the dropped ones", async () => {
    const { tableName, streamArn } = await createTable();
    const write = (pk: string, origin: string) =>
      dynamo.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { pk: { S: pk }, origin: { S: origin } },
        }),
      );
    const delivered: unknown[] = [];
    const checkpoints: string[] = [];
    await start({
      streamArn,
      filters: [{ dynamodb: { NewImage: { origin: { S: ["prod"] } } } }],
      handler: async ({ Records }) => {
        delivered.push(...Records.map(pkOf));
      },
      onCheckpoint: (_shardId, sequenceNumber) => {
        checkpoints.push(sequenceNumber);
      },
    });
    await write("mine", "prod");
    await write("applied", "failover");
    await write("mine-too", "prod");
    await waitFor(() => delivered.length === 2);
    const handled = checkpoints.length;

    await write("applied-alone", "failover");

    await waitFor(() => checkpoints.length > handled);
    expect(delivered).toEqual(["mine", "mine-too"]);
  });

  it("with a batching window, gathers records until the window elapses, and goes at once when the batch is full", async () => {
    const { tableName, streamArn } = await createTable();
    const batches: { keys: unknown[]; at: number }[] = [];
    await start({
      streamArn,
      batchSize: 3,
      maximumBatchingWindowSeconds: 1,
      handler: async ({ Records }) => {
        batches.push({ keys: Records.map(pkOf), at: Date.now() });
      },
    });
    const firstWrittenAt = Date.now();
    await put(tableName, "a");
    // The writer's own pace, slower than the poller's: without a window, "a" would go alone.
    await delay(300);
    await put(tableName, "b");
    await waitFor(() => batches.length === 1);
    expect(batches[0]?.keys).toEqual(["a", "b"]);
    expect(batches[0]?.at).toBeGreaterThanOrEqual(firstWrittenAt + 1000);

    // A full batch does not wait for the window.
    const fullWrittenAt = Date.now();
    await put(tableName, "c", "d", "e", "f");
    await waitFor(() => batches.length === 2);
    expect(batches[1]?.keys).toEqual(["c", "d", "e"]);
    expect(batches[1]?.at).toBeLessThan(fullWrittenAt + 1000);
    await waitFor(() => batches.length === 3);
    expect(batches[2]?.keys).toEqual(["f"]);
  });

  it("cuts a batch at Lambda's 6 MB invocation payload, gathering GetRecords pages within the window", async () => {
    const { tableName, streamArn } = await createTable();
    // 17 records of about 390 KB each (a GetRecords page holds at most 1 MB of them): 16 fit in
    // 6 MB, the 17th goes in the next batch.
    const blob = "x".repeat(390_000);
    for (let index = 0; index < 17; index++) {
      await dynamo.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { pk: { S: `big-${index}` }, blob: { S: blob } },
        }),
      );
    }
    const sizes: number[] = [];
    const startedAt = Date.now();
    let fullAt = 0;
    await start({
      streamArn,
      maximumBatchingWindowSeconds: 5,
      handler: async ({ Records }) => {
        sizes.push(Records.length);
        fullAt ||= Date.now();
      },
    });
    await waitFor(() => sizes.length === 2, 10_000);
    expect(sizes).toEqual([16, 1]);
    // The full payload went at once, not after the window.
    expect(fullAt - startedAt).toBeLessThan(5_000);
  });

  it("starts at LATEST, and resumes after a checkpoint", async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, "old");
    const delivered: unknown[] = [];
    const handler = async ({ Records }: { Records: DynamoDBRecord[] }) => {
      delivered.push(...Records.map(pkOf));
    };
    let checkpoint: Record<string, string> = {};
    const first = await startStreamSource({
      client: streams,
      streamArn,
      startingPosition: "LATEST",
      pollIntervalMs: 25,
      handler,
      onCheckpoint: (shardId, sequenceNumber) => {
        checkpoint = { [shardId]: sequenceNumber };
      },
    });
    await put(tableName, "new");
    await waitFor(() => Object.keys(checkpoint).length > 0);
    await first.stop();
    await put(tableName, "while-stopped");

    await start({ streamArn, startingPosition: "LATEST", checkpoint, handler });
    await waitFor(() => delivered.length === 2);
    expect(delivered).toEqual(["new", "while-stopped"]);
  });
});
