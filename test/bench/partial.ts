import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createRequestCounter } from "../../infra/local/request-counter.ts";
import { type LocalRegion, type LocalRuntime, startLocal } from "../../infra/local/runtime.ts";
import type { ConfigItem } from "../../shared/model/items.ts";
import { HybridClock } from "../../shared/model/version.ts";
import { percentile } from "../../shared/sync/status.ts";
import { waitFor } from "../support/wait.ts";

/**
 * `npm run bench -- partial`: 5,000 changes over 50 domains through the automatic-sync
 * pipeline (stream → capture → FIFO queue → forward → failover), against a baseline measured
 * in the same run: the same items written straight into the failover's table.
 */
const DOMAINS = 50;
const CHANGES = 5_000;
const WRITE_CONCURRENCY = 4;
/** The lag phase writes at a steady rate well below capacity, as production traffic does. */
const PACED_RATE_PER_SECOND = 100;
const PACED_SECONDS = 10;

/** AWS list prices, us-east-1, as of 2026: $ per unit. */
const PRICE = {
  sqsFifoRequest: 0.5 / 1e6,
  httpApiRequest: 1.0 / 1e6,
  lambdaInvocation: 0.2 / 1e6,
  /** Assumed: 100 ms at 256 MB on arm64 ($0.0000133334 per GB-s). */
  lambdaDuration: 0.1 * 0.25 * 0.0000133334,
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  eventBridgeEvent: 1.0 / 1e6,
  /** Lambda's reads of a DynamoDB stream are not billed. */
  streamRead: 0,
};

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

async function writeAll(doc: DynamoDBDocumentClient, table: string, items: ConfigItem[]) {
  const chunks: ConfigItem[][] = [];
  for (let start = 0; start < items.length; start += 25)
    chunks.push(items.slice(start, start + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITE_CONCURRENCY }, async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++] ?? [];
        const stamped = chunk.map((entry) => ({ ...entry, updatedAt: Date.now() }));
        let request:
          | Record<string, { PutRequest: { Item: Record<string, unknown> } }[]>
          | undefined = {
          [table]: stamped.map((entry) => ({ PutRequest: { Item: { ...entry } } })),
        };
        while (request && Object.keys(request).length) {
          const { UnprocessedItems } = await doc.send(
            new BatchWriteCommand({ RequestItems: request }),
          );
          request = UnprocessedItems as typeof request;
        }
      }
    }),
  );
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

const seconds = (ms: number) => (ms / 1000).toFixed(2);

export async function partial(): Promise<void> {
  const counter = createRequestCounter();
  const runtime: LocalRuntime = await startLocal({
    primaryPort: 0,
    failoverPort: 0,
    seed: false,
    // Every SDK v3 client has the same middleware stack; the cast only merges their types.
    instrument: (client) => counter.attach(client as DynamoDBClient),
  });
  try {
    // The benchmark's own writes and polls go through clients the counter does not see.
    const clientOf = (region: LocalRegion) =>
      new DynamoDBClient({ ...region.awsConfig, endpoint: runtime.dynamoEndpoint });
    const failoverClient = clientOf(runtime.failover);
    const failoverDoc = DynamoDBDocumentClient.from(failoverClient);
    const primaryDoc = DynamoDBDocumentClient.from(clientOf(runtime.primary));
    /**
     * Waits until the pipeline's own events report `expected` changes applied since event
     * `from`. (Polling the failover's table with Scans instead would load DynamoDB Local, the
     * pipeline's bottleneck, and slow what is measured; the table is checked once afterwards.)
     */
    const appliedSince = (from: number, expected: number) =>
      waitFor(
        () =>
          runtime.primary.bus
            .events()
            .slice(from)
            .reduce((sum, event) => sum + (event.detail.Success ? event.detail.Items : 0), 0) >=
          expected,
        600_000,
        `${expected} changes applied`,
      );
    const onFailover = (prefix: string, expected: number) =>
      waitFor(
        async () => (await count(failoverClient, runtime.failover.tableName, prefix)) === expected,
        60_000,
        `${expected} ${prefix} items on the failover`,
      );

    // Not timed: DynamoDB Local's JVM is fresh, and a cold baseline would flatter the ratio.
    await writeAll(failoverDoc, runtime.failover.tableName, changes("warm", CHANGES));
    const baselineStart = Date.now();
    await writeAll(failoverDoc, runtime.failover.tableName, changes("base", CHANGES));
    const baselineMs = Date.now() - baselineStart;

    counter.reset();
    const before = runtime.primary.pipelineStats();
    const eventsBefore = runtime.primary.bus.events().length;
    const syncStart = Date.now();
    await writeAll(primaryDoc, runtime.primary.tableName, changes("sync", CHANGES));
    await appliedSince(eventsBefore, CHANGES);
    const syncMs = Date.now() - syncStart;
    const requests = counter.snapshot();
    const after = runtime.primary.pipelineStats();
    const httpCalls = runtime.primary.bus.events().length - eventsBefore;
    await onFailover("sync", CHANGES);

    // Lag at a steady rate: commit (updatedAt) → applied on the failover, per change.
    const pacedStart = Date.now();
    const pacedEvents = runtime.primary.bus.events().length;
    const paced = changes("paced", PACED_RATE_PER_SECOND * PACED_SECONDS);
    for (let second = 0; second < PACED_SECONDS; second++) {
      for (let tick = 0; tick < 10; tick++) {
        const slice = paced.slice(
          (second * 10 + tick) * (PACED_RATE_PER_SECOND / 10),
          (second * 10 + tick + 1) * (PACED_RATE_PER_SECOND / 10),
        );
        const due = pacedStart + (second * 10 + tick) * 100;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
        await writeAll(primaryDoc, runtime.primary.tableName, slice);
      }
    }
    await appliedSince(pacedEvents, paced.length);
    await onFailover("paced", paced.length);
    const lags = (await runtime.primary.services.status.recentBatches())
      .filter((batch) => Date.parse(batch.event.StartedAt) >= pacedStart)
      .flatMap((batch) => batch.lagMs);

    const sum = (prefix: string) =>
      Object.entries(requests)
        .filter(([name]) => name.startsWith(prefix))
        .reduce((total, [, value]) => total + value, 0);
    const sqs = sum("SQS.");
    const dynamoWrites =
      (requests["DynamoDB.PutItem"] ?? 0) + 2 * (requests["DynamoDB.TransactWriteItems"] ?? 0);
    const dynamoReads = (requests["DynamoDB.GetItem"] ?? 0) + (requests["DynamoDB.Query"] ?? 0);
    const streamReads = sum("DynamoDBStreams.GetRecords");
    const invocations =
      after.captureInvocations -
      before.captureInvocations +
      after.forwardInvocations -
      before.forwardInvocations +
      httpCalls;
    const perChange = (n: number) => n / CHANGES;
    const dollarsPerMillion =
      1e6 *
      perChange(
        sqs * PRICE.sqsFifoRequest +
          httpCalls * (PRICE.httpApiRequest + PRICE.eventBridgeEvent) +
          invocations * (PRICE.lambdaInvocation + PRICE.lambdaDuration) +
          dynamoWrites * PRICE.dynamoWriteUnit +
          dynamoReads * PRICE.dynamoReadUnit +
          streamReads * PRICE.streamRead,
      );

    const throughput = CHANGES / (syncMs / 1000);
    const baseline = CHANGES / (baselineMs / 1000);
    const p50 = percentile(lags, 50) ?? Number.NaN;
    const p99 = percentile(lags, 99) ?? Number.NaN;
    const rows: [string, string, string][] = [
      [
        "baseline: direct BatchWriteItem to the failover",
        `${seconds(baselineMs)} s`,
        `${baseline.toFixed(0)} changes/s`,
      ],
      [
        "automatic sync, burst of 5,000",
        `${seconds(syncMs)} s`,
        `${throughput.toFixed(0)} changes/s = ${((100 * throughput) / baseline).toFixed(0)} % of baseline (goal ≥ 30 %)`,
      ],
      [
        `lag at ${PACED_RATE_PER_SECOND} changes/s`,
        `p50 ${p50} ms`,
        `p99 ${p99} ms (goal ≤ 1500 ms), ${lags.length} samples`,
      ],
      ["SQS requests per change", perChange(sqs).toFixed(3), "goal ≤ 1.5"],
      ["HTTP calls per change", perChange(httpCalls).toFixed(3), "goal ≤ 0.2"],
      [
        "DynamoDB writes per change",
        perChange(dynamoWrites).toFixed(3),
        `goal ≤ 1.1 (reads ${perChange(dynamoReads).toFixed(3)})`,
      ],
      [
        "stream reads per change",
        perChange(streamReads).toFixed(3),
        "not billed when Lambda reads",
      ],
      [
        "Lambda invocations per change",
        perChange(invocations).toFixed(3),
        "capture + forward + receive",
      ],
      ["$ per million changes", dollarsPerMillion.toFixed(2), "AWS list prices, us-east-1"],
    ];
    console.log(
      `\npartial sync: ${CHANGES} changes over ${DOMAINS} domains (2 cores, local emulators)\n`,
    );
    for (const [what, value, note] of rows)
      console.log(`${what.padEnd(48)} ${value.padEnd(14)} ${note}`);
    console.log("\nrequests:", JSON.stringify(requests));
  } finally {
    await runtime.stop();
  }
}
