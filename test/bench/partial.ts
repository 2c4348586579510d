import { cpus, loadavg } from "node:os";
import { CreateTableCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { cloudConfigSchema } from "../../infra/cloud/config.ts";
import { createRequestCounter } from "../../infra/local/request-counter.ts";
import { type LocalRegion, type LocalRuntime, startLocal } from "../../infra/local/runtime.ts";
import { topology } from "../../infra/topology.ts";
import { configTableDefinition } from "../../shared/adapters/config-table.ts";
import { DynamoConfigStore } from "../../shared/adapters/dynamo-config-store.ts";
import type { ConfigItem } from "../../shared/model/items.ts";
import { HybridClock } from "../../shared/model/version.ts";
import { percentile } from "../../shared/sync/status.ts";
import { waitFor } from "../support/wait.ts";
import {
  type Capacity,
  createCapacityCounter,
  createLatencyRecorder,
  createSqsChunkCounter,
} from "./measure.ts";
import { saveRun } from "./results.ts";

/**
 * `npm run bench -- partial`: 5,000 changes over 50 domains through the automatic-sync
 * pipeline (stream → capture → FIFO queue → forward → failover), against two baselines measured
 * in the same run in the failover's database: the same items written unconditionally
 * (`BatchWriteItem`), and written with the version rule's conditional statements, batched as
 * the receiver batches them (the floor for any design that keeps R8). Then the lag at a steady
 * rate, and the catch-up rate of a backlog held while forwarding was off. Writes its figures to
 * test/bench/results/partial.json; `npm run bench:tables` writes the table in docs/benchmarks.md.
 */
const DOMAINS = 50;
const CHANGES = 5_000;
const WRITE_CONCURRENCY = 4;
/** The lag phase writes at a steady rate well below capacity, as production traffic does. */
const PACED_RATE_PER_SECOND = 100;
const PACED_SECONDS = 10;
/** Changes made while forwarding is off, then drained (R9 resume, R24 catch-up). */
const BACKLOG = 3_000;
/** How many runs the results file keeps (docs/benchmarks.md shows their ranges). */
const RUNS_KEPT = 3;

/** AWS list prices, us-east-1, on-demand, as of 2026: $ per unit. */
const PRICE = {
  /** Per request, a request being each started 64 KB of payload. */
  sqsFifoRequest: 0.5 / 1e6,
  httpApiRequest: 1.0 / 1e6,
  eventBridgeEvent: 1.0 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  /** Lambda on arm64, per GB-second. */
  lambdaGbSecond: 0.0000133334,
  /** DynamoDB on-demand: per write request unit (1 KB) and read request unit (4 KB). */
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  /** Lambda's reads of a DynamoDB stream are not billed. */
  streamRead: 0,
  /** CloudWatch Logs ingestion (standard class), per GB; vended access logs cost the same. */
  logsIngestedGb: 0.5,
  /** X-Ray, per trace recorded. */
  xrayTrace: 5 / 1e6,
};

/** Memory per function (infra/topology.ts): receive runs in the admin API's function. */
const LAMBDA_GB = {
  capture: topology.capture.memoryMb / 1024,
  forward: topology.forward.memoryMb / 1024,
  receive: topology.adminApi.memoryMb / 1024,
};
/**
 * What Lambda itself logs per invocation: the START, END and REPORT lines (about 70, 50 and 180
 * bytes); the functions' own lines are measured.
 */
const LAMBDA_PLATFORM_LOG_BYTES = 300;
/** One line of the HTTP API's access log (its default JSON format) per call. */
const ACCESS_LOG_BYTES = 250;
/**
 * X-Ray at the stack's sampling: off by default (infra/cloud/config.ts), and then the pipeline's
 * functions, which no traced caller invokes, record no trace. With `tracing` on, Lambda samples
 * the first invocation each second and 5 % beyond, per function.
 */
const TRACING = cloudConfigSchema.shape.tracing.parse(undefined);
const traces = (invocations: number, seconds: number) =>
  TRACING ? Math.min(invocations, seconds) + 0.05 * Math.max(0, invocations - seconds) : 0;

/** Counts the bytes this process writes to stdout and stderr (the functions' own log lines). */
function logBytes() {
  let bytes = 0;
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write.bind(stream));
  streams.forEach((stream, index) => {
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
      return (writes[index] as typeof stream.write)(chunk, ...rest);
    }) as typeof stream.write;
  });
  return {
    take: () => bytes,
    stop: () =>
      streams.forEach((stream, index) => {
        stream.write = writes[index] as typeof stream.write;
      }),
  };
}
/** The local forward source's batches in flight (infra/local/pipeline.ts: the cloud's maximum). */
const LOCAL_FORWARD_BATCHES = topology.forward.source.maxConcurrency;

const clock = new HybridClock();

function item(domain: string, index: number): ConfigItem {
  const now = Date.now();
  const base = { origin: "local-primary", version: clock.next(), updatedAt: now, domain };
  return index === 0
    ? {
        ...base,
        pk: `DOMAIN#${domain}`,
        sk: "DOMAIN",
        kind: "domain",
        id: domain,
        data: { description: "bench", limits: {} },
        running: false,
      }
    : {
        ...base,
        pk: `DOMAIN#${domain}`,
        sk: `GROUP#g${index}`,
        kind: "group",
        id: `g${index}`,
        data: { description: `group ${index}` },
      };
}

/** The changes, domain item first in each domain: index i of domain d. */
function changes(prefix: string, count: number): ConfigItem[] {
  return Array.from({ length: count }, (_, n) =>
    item(`${prefix}-${n % DOMAINS}`, Math.floor(n / DOMAINS)),
  );
}

/** The same items again, each with a newer version: updates of existing items. */
const newer = (items: ConfigItem[]) =>
  items.map((entry) => ({ ...entry, version: clock.next(), updatedAt: Date.now() }));

/** Runs `write` over chunks of 25 items, WRITE_CONCURRENCY chunks in flight. */
async function inChunks(items: ConfigItem[], write: (chunk: ConfigItem[]) => Promise<void>) {
  const chunks: ConfigItem[][] = [];
  for (let start = 0; start < items.length; start += 25)
    chunks.push(items.slice(start, start + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITE_CONCURRENCY }, async () => {
      while (next < chunks.length) await write(chunks[next++] ?? []);
    }),
  );
}

/** The unconditional baseline: `BatchWriteItem`, 25 items per request. */
function writeAll(doc: DynamoDBDocumentClient, table: string, items: ConfigItem[]) {
  return inChunks(items, async (chunk) => {
    const stamped = chunk.map((entry) => ({ ...entry, updatedAt: Date.now() }));
    let request: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> | undefined = {
      [table]: stamped.map((entry) => ({ PutRequest: { Item: { ...entry } } })),
    };
    while (request && Object.keys(request).length) {
      const { UnprocessedItems } = await doc.send(new BatchWriteCommand({ RequestItems: request }));
      request = UnprocessedItems as typeof request;
    }
  });
}

async function count(client: DynamoDBClient, table: string, prefix: string): Promise<number> {
  let total = 0;
  let start: Record<string, never> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        Select: "COUNT",
        FilterExpression: "begins_with(pk, :prefix)",
        ExpressionAttributeValues: { ":prefix": { S: `DOMAIN#${prefix}` } },
        ExclusiveStartKey: start,
      }),
    );
    total += page.Count ?? 0;
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return total;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await run();
  return Date.now() - started;
}

const rate = (items: number, ms: number) => Math.round(items / (ms / 1000));
const round = (value: number, digits = 3) => Number(value.toFixed(digits));

/** Progress on stderr: the phase and the seconds since the start. */
const started = Date.now();
const progress = (phase: string) =>
  console.error(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${phase}`);

export async function partial(): Promise<void> {
  // Other work on the machine skews every figure: the load before and after says if there was.
  const loadBefore = round(loadavg()[0] ?? 0, 2);
  const counter = createRequestCounter();
  const capacity = createCapacityCounter();
  const latency = createLatencyRecorder(["ReceiveMessage"]);
  const sqsChunks = createSqsChunkCounter();
  const runtime: LocalRuntime = await startLocal({
    productionPort: 0,
    failoverPort: 0,
    seed: false,
    instrument: (client) => {
      // Every SDK v3 client has the same middleware stack; the cast only merges their types.
      counter.attach(client as DynamoDBClient);
      if (client instanceof DynamoDBClient) capacity.attach(client);
      else latency.attach(client as DynamoDBClient);
      if (client instanceof SQSClient) sqsChunks.attach(client);
    },
  });
  try {
    // The benchmark's own writes and polls go through clients the counters do not see.
    const clientOf = (region: LocalRegion) =>
      new DynamoDBClient({ ...region.awsConfig, endpoint: runtime.dynamoEndpoint });
    const failoverClient = clientOf(runtime.failover);
    const productionDoc = DynamoDBDocumentClient.from(clientOf(runtime.production));
    const failoverTable = runtime.failover.tableName;
    // The baselines write into a table like the failover's (with its stream), in a database of
    // their own in the same DynamoDB Local, which no capture reads: they cannot load or disturb
    // the pipeline measured after them (DynamoDB Local keeps one stream log per database).
    const direct = new DynamoDBClient({
      ...runtime.failover.awsConfig,
      region: "local-baseline",
      endpoint: runtime.dynamoEndpoint,
    });
    const baselineTable = failoverTable;
    await direct.send(new CreateTableCommand(configTableDefinition(baselineTable)));
    const baselineDoc = DynamoDBDocumentClient.from(direct);
    // The receiver's own statements, straight into that table (no pipeline).
    const directCapacity = createCapacityCounter();
    directCapacity.attach(direct);
    const conditional = (firstTry: "insert" | "update") =>
      new DynamoConfigStore(direct, baselineTable, { firstTry });
    const applyAll = (store: DynamoConfigStore, items: ConfigItem[]) =>
      inChunks(items, async (chunk) => {
        await store.applyBatch(chunk);
      });
    /** Time and write units per item of `write`, on the direct client. */
    const measured = async (items: ConfigItem[], write: () => Promise<unknown>) => {
      directCapacity.reset();
      const ms = await timed(write);
      const units = Object.values(directCapacity.snapshot())[0]?.writeUnits ?? 0;
      return {
        ms,
        perSecond: rate(items.length, ms),
        writeUnitsPerItem: round(units / items.length),
      };
    };

    /**
     * Waits until the pipeline's own events report `expected` changes applied since event
     * `from`. (Polling the failover's table with Scans instead would load DynamoDB Local, the
     * pipeline's bottleneck, and slow what is measured; the table is checked once afterwards.)
     */
    const applied = (from: number) =>
      runtime.production.bus
        .events()
        .slice(from)
        .reduce((sum, event) => sum + (event.detail.Success ? event.detail.Items : 0), 0);
    const appliedSince = (from: number, expected: number) =>
      waitFor(() => applied(from) >= expected, 600_000, `${expected} changes applied`);
    const onFailover = (prefix: string, expected: number) =>
      waitFor(
        async () => (await count(failoverClient, failoverTable, prefix)) === expected,
        60_000,
        `${expected} ${prefix} items on the failover`,
      );

    progress("warm-up");
    // Not timed: DynamoDB Local's JVM is fresh, and a cold baseline would flatter the ratio.
    await writeAll(baselineDoc, baselineTable, changes("warm", CHANGES));
    await applyAll(conditional("insert"), changes("warmc", CHANGES));

    progress("baselines");
    const baseItems = changes("base", CHANGES);
    const batchWrite = await measured(baseItems, () =>
      writeAll(baselineDoc, baselineTable, baseItems),
    );
    const condItems = changes("cond", CHANGES);
    const conditionalBatch = await measured(condItems, () =>
      applyAll(conditional("insert"), condItems),
    );
    const oneItems = changes("one", CHANGES);
    const store = conditional("insert");
    const oneByOne = await measured(oneItems, () =>
      inChunks(oneItems, async (chunk) => {
        await Promise.all(chunk.map((entry) => store.apply(entry)));
      }),
    );
    // Which statement to try first (DynamoConfigStore's `firstTry`): new items, then updates.
    const insertItems = changes("ins", CHANGES);
    const updateItems = changes("upd", CHANGES);
    const ladder = {
      createsInsertFirst: await measured(insertItems, () =>
        applyAll(conditional("insert"), insertItems),
      ),
      createsUpdateFirst: await measured(updateItems, () =>
        applyAll(conditional("update"), updateItems),
      ),
      updatesInsertFirst: await measured(updateItems, () =>
        applyAll(conditional("insert"), newer(updateItems)),
      ),
      updatesUpdateFirst: await measured(insertItems, () =>
        applyAll(conditional("update"), newer(insertItems)),
      ),
    };

    progress("burst through the pipeline");
    // The burst through the whole pipeline.
    counter.reset();
    capacity.reset();
    sqsChunks.reset();
    const before = { ...runtime.production.pipelineStats() };
    const failoverBefore = { ...runtime.failover.pipelineStats() };
    const eventsBefore = runtime.production.bus.events().length;
    const logged = logBytes();
    const syncMs = await timed(async () => {
      await writeAll(productionDoc, runtime.production.tableName, changes("sync", CHANGES));
      await appliedSince(eventsBefore, CHANGES);
    }).finally(logged.stop);
    const functionLogBytes = logged.take();
    const sqsBilled = sqsChunks.billedRequests();
    const requests = counter.snapshot();
    const units = capacity.snapshot();
    const after = { ...runtime.production.pipelineStats() };
    const failoverAfter = { ...runtime.failover.pipelineStats() };
    const burstEvents = runtime.production.bus.events().slice(eventsBefore);
    const httpCalls = burstEvents.length;
    const hopMs = burstEvents.map(
      (event) => Date.parse(event.detail.FinishedAt) - Date.parse(event.detail.StartedAt),
    );
    await onFailover("sync", CHANGES);

    progress("steady rate");
    // Lag at a steady rate: commit (updatedAt) → applied on the failover, per change.
    const pacedStart = Date.now();
    const pacedEvents = runtime.production.bus.events().length;
    const paced = changes("paced", PACED_RATE_PER_SECOND * PACED_SECONDS);
    for (let tick = 0; tick < PACED_SECONDS * 10; tick++) {
      const slice = paced.slice(
        (tick * PACED_RATE_PER_SECOND) / 10,
        ((tick + 1) * PACED_RATE_PER_SECOND) / 10,
      );
      const due = pacedStart + tick * 100;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      await writeAll(productionDoc, runtime.production.tableName, slice);
    }
    await appliedSince(pacedEvents, paced.length);
    await onFailover("paced", paced.length);
    const lags = (await runtime.production.services.status.recentBatches())
      .filter((batch) => Date.parse(batch.event.StartedAt) >= pacedStart)
      .flatMap((batch) => batch.lagMs);

    progress("held backlog");
    // Catch-up: a backlog kept in the queue while forwarding was off, then drained.
    const { services } = runtime.production;
    await services.forwarding.suspend();
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // the local mapping disables late
    const backlogEvents = runtime.production.bus.events().length;
    const capturedBefore = runtime.production.pipelineStats().captureRecords;
    await writeAll(productionDoc, runtime.production.tableName, changes("held", BACKLOG));
    // All captured and queued (packed: the queue counts messages, not changes), or forwarded
    // already if the mapping was still disabling: capture was handed every record, and the
    // queue's depth has settled.
    let lastQueued = -1;
    await waitFor(
      async () => {
        const { queued, inFlight } = await services.queue.depths();
        const settled = queued === lastQueued;
        lastQueued = queued;
        const captured = runtime.production.pipelineStats().captureRecords - capturedBefore;
        return captured >= BACKLOG && inFlight === 0 && settled;
      },
      180_000,
      `${BACKLOG} changes queued`,
    );
    const held = BACKLOG - applied(backlogEvents);
    latency.reset();
    const forwardBeforeCatchUp = runtime.production.pipelineStats().forwardInvocations;
    const catchUpMs = await timed(async () => {
      await services.forwarding.resume();
      await appliedSince(backlogEvents, BACKLOG);
    });
    // The local source receives with one poller (FIFO order), looking ahead for full batches.
    const receives = latency.samples("ReceiveMessage");
    const receiveP50 = percentile(receives, 50) ?? Number.NaN;
    const catchUpForwards =
      runtime.production.pipelineStats().forwardInvocations - forwardBeforeCatchUp;
    const receivesPerForward = receives.length / catchUpForwards;
    const forwardCycleMs = catchUpMs / (catchUpForwards / LOCAL_FORWARD_BATCHES);
    const changesPerForward = held / catchUpForwards;
    await onFailover("held", BACKLOG);

    const sum = (prefix: string) =>
      Object.entries(requests)
        .filter(([name]) => name.startsWith(prefix))
        .reduce((total, [, value]) => total + value, 0);
    const regionUnits = (region: LocalRegion, table = ""): Capacity =>
      units[`${region.awsConfig.region}${table}`] ?? { writeUnits: 0, readUnits: 0 };
    const sending = regionUnits(runtime.production);
    const receiving = regionUnits(runtime.failover);
    // History (R26): each server keeps every change it stores, production its own, the
    // failover what it applied; apart from the pipeline, as the feature it pays for.
    const history = [runtime.production, runtime.failover].map((region) =>
      regionUnits(region, "/history"),
    );
    const perChange = (n: number) => n / CHANGES;
    const invocations = {
      capture: after.captureInvocations - before.captureInvocations,
      forward: after.forwardInvocations - before.forwardInvocations,
      receive: httpCalls,
      // The failover's own capture reads every applied item off its stream, for its history
      // (R26); it queues none of them (R18).
      failoverCapture: failoverAfter.captureInvocations - failoverBefore.captureInvocations,
    };
    /** Billed milliseconds per function, measured: receive's is its HTTP hop (an upper bound). */
    const billedMs = {
      capture: after.captureBilledMs - before.captureBilledMs,
      forward: after.forwardBilledMs - before.forwardBilledMs,
      receive: hopMs.reduce((a, b) => a + Math.ceil(b), 0),
      failoverCapture: failoverAfter.captureBilledMs - failoverBefore.captureBilledMs,
    };
    const lambda = (calls: number, ms: number, gb: number) =>
      calls * PRICE.lambdaRequest + (ms / 1000) * gb * PRICE.lambdaGbSecond;
    const totalInvocations = Object.values(invocations).reduce((a, b) => a + b, 0);
    const logs = {
      bytes:
        totalInvocations * LAMBDA_PLATFORM_LOG_BYTES +
        httpCalls * ACCESS_LOG_BYTES +
        functionLogBytes,
      functionBytes: functionLogBytes,
    };
    const seconds = Math.max(1, syncMs / 1000);
    const xrayTraces = Object.values(invocations).reduce(
      (sum, calls) => sum + traces(calls, seconds),
      0,
    );
    const dollars = {
      sqs: sqsBilled * PRICE.sqsFifoRequest,
      httpApi: httpCalls * PRICE.httpApiRequest,
      eventBridge: httpCalls * PRICE.eventBridgeEvent,
      lambda:
        lambda(invocations.capture, billedMs.capture, LAMBDA_GB.capture) +
        lambda(invocations.forward, billedMs.forward, LAMBDA_GB.forward) +
        lambda(invocations.receive, billedMs.receive, LAMBDA_GB.receive),
      logs: (logs.bytes / 2 ** 30) * PRICE.logsIngestedGb,
      xray: xrayTraces * PRICE.xrayTrace,
      dynamoSending:
        sending.writeUnits * PRICE.dynamoWriteUnit + sending.readUnits * PRICE.dynamoReadUnit,
      dynamoReceiving:
        receiving.writeUnits * PRICE.dynamoWriteUnit + receiving.readUnits * PRICE.dynamoReadUnit,
    };
    const perMillion = Object.fromEntries(
      Object.entries(dollars).map(([name, value]) => [name, round(1e6 * perChange(value))]),
    );
    const total = round(Object.values(dollars).reduce((a, b) => a + b, 0) * (1e6 / CHANGES), 2);
    /** What history adds: both servers' history writes, and the failover's capture running for it. */
    const historyDollars = {
      writes: history.reduce(
        (sum, units) =>
          sum + units.writeUnits * PRICE.dynamoWriteUnit + units.readUnits * PRICE.dynamoReadUnit,
        0,
      ),
      failoverCapture: lambda(
        invocations.failoverCapture,
        billedMs.failoverCapture,
        LAMBDA_GB.capture,
      ),
    };

    const burstRate = rate(CHANGES, syncMs);
    const result = {
      at: new Date().toISOString(),
      setup: {
        changes: CHANGES,
        domains: DOMAINS,
        writeConcurrency: WRITE_CONCURRENCY,
        cores: cpus().length,
        node: process.version,
        loadAverage: { before: loadBefore, after: round(loadavg()[0] ?? 0, 2) },
      },
      baselines: { batchWrite, conditionalBatch, conditionalOneByOne: oneByOne },
      ladder,
      burst: {
        ms: syncMs,
        perSecond: burstRate,
        ofBatchWritePercent: round((100 * burstRate) / batchWrite.perSecond, 1),
        ofConditionalPercent: round((100 * burstRate) / conditionalBatch.perSecond, 1),
        httpHopP50Ms: percentile(hopMs, 50) ?? null,
      },
      lag: {
        ratePerSecond: PACED_RATE_PER_SECOND,
        p50Ms: percentile(lags, 50) ?? null,
        p99Ms: percentile(lags, 99) ?? null,
        samples: lags.length,
      },
      catchUp: {
        backlog: held,
        ms: catchUpMs,
        perSecond: rate(held, catchUpMs),
        ofConditionalPercent: round((100 * rate(held, catchUpMs)) / conditionalBatch.perSecond, 1),
        arrivalPerSecond: PACED_RATE_PER_SECOND,
        timesArrival: round(rate(held, catchUpMs) / PACED_RATE_PER_SECOND, 1),
        batchesInFlight: LOCAL_FORWARD_BATCHES,
        /** Per forward invocation in flight: receive, forward, HTTP hop, delete. */
        forwardInvocations: catchUpForwards,
        changesPerForward: round(changesPerForward, 1),
        forwardCycleMs: Math.round(forwardCycleMs),
        /** The local SQS receive's p50, and how many the one poller made per batch. */
        receiveP50Ms: round(receiveP50, 1),
        receivesPerForward: round(receivesPerForward, 1),
        /** What one poller can hand out at that receive time, packed as in this run. */
        receiveLoopCapPerSecond: Math.round(
          (changesPerForward * 1000) / (receivesPerForward * receiveP50),
        ),
      },
      perChange: {
        /** Billed SQS requests (one per started 64 KB of each call's payload). */
        sqsRequests: round(perChange(sqsBilled)),
        sqsCalls: round(perChange(sum("SQS."))),
        httpCalls: round(perChange(httpCalls)),
        dynamoWriteUnits: {
          sending: round(perChange(sending.writeUnits)),
          receiving: round(perChange(receiving.writeUnits)),
          history: round(perChange(history.reduce((sum, units) => sum + units.writeUnits, 0))),
        },
        dynamoReadUnits: {
          sending: round(perChange(sending.readUnits)),
          receiving: round(perChange(receiving.readUnits)),
        },
        streamReads: round(perChange(sum("DynamoDBStreams.GetRecords"))),
        lambdaInvocations: Object.fromEntries(
          Object.entries(invocations).map(([name, value]) => [name, round(perChange(value))]),
        ),
        /** Measured billed Lambda milliseconds per change, per function. */
        lambdaBilledMs: Object.fromEntries(
          Object.entries(billedMs).map(([name, value]) => [name, round(perChange(value))]),
        ),
        logBytes: round(perChange(logs.bytes), 1),
        functionLogBytes: round(perChange(logs.functionBytes), 1),
        xrayTraces: round(perChange(xrayTraces)),
      },
      dollarsPerMillion: { total, ...perMillion },
      /** History (R26), on top of the pipeline's total. */
      historyDollarsPerMillion: {
        total: round(Object.values(historyDollars).reduce((a, b) => a + b, 0) * (1e6 / CHANGES), 2),
        ...Object.fromEntries(
          Object.entries(historyDollars).map(([name, value]) => [
            name,
            round(1e6 * perChange(value)),
          ]),
        ),
      },
      prices: {
        ...PRICE,
        lambdaGb: LAMBDA_GB,
        lambdaPlatformLogBytes: LAMBDA_PLATFORM_LOG_BYTES,
        accessLogBytes: ACCESS_LOG_BYTES,
        tracing: TRACING,
      },
      requests,
    };
    await save(result);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await runtime.stop();
  }
}

/** Keeps the last RUNS_KEPT runs in the results file, newest last. */
async function save(result: object) {
  const file = await saveRun("partial", result, RUNS_KEPT);
  console.log(`\nwritten to ${file}; the docs' table: npm run bench:tables`);
}
