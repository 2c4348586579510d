import type { Logger } from "@aws-lambda-powertools/logger";
import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createCaptureHandler } from "../../functions/capture/app.ts";
import { createForwardHandler } from "../../functions/forward/app.ts";
import type { ServerServices } from "../../functions/server.ts";
import type { QueueAddresses } from "../../shared/adapters/sqs-change-queue.ts";
import type { ForwardSwitch } from "../../shared/ports.ts";
import { captureFilter } from "../../shared/sync/capture.ts";
import { topology } from "../topology.ts";
import type { LocalAwsConfig } from "./aws-config.ts";
import { lambdaContext } from "./lambda-context.ts";
import { type SqsSource, startSqsSource } from "./sqs-source.ts";
import { type StreamSource, startStreamSource } from "./stream-source.ts";

/** Creates a region's FIFO change queue and its FIFO DLQ with the topology's redrive policy. */
export async function createQueues(sqs: SQSClient, region: string): Promise<QueueAddresses> {
  const { queue } = topology.forward;
  const create = async (name: string, attributes: Record<string, string>) => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          FifoQueue: "true",
          MessageRetentionPeriod: String(queue.retentionDays * 86_400),
          ...attributes,
        },
      }),
    );
    if (!QueueUrl) throw new Error(`queue ${name} was not created`);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    return { url: QueueUrl, arn: Attributes?.QueueArn ?? "" };
  };
  const dlq = await create(`mft-${region}-changes-dlq.fifo`, {});
  const main = await create(`mft-${region}-changes.fifo`, {
    VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlq.arn,
      maxReceiveCount: queue.maxReceiveCount,
    }),
  });
  return { queueUrl: main.url, queueArn: main.arn, dlqUrl: dlq.url, dlqArn: dlq.arn };
}

/**
 * How long local mode's poller keeps receiving after a suspension. AWS disables an event
 * source mapping asynchronously (state Disabling, then Disabled some seconds later) and its
 * pollers go on meanwhile; so does this one, so that the tests see what forward does then.
 */
export const LOCAL_DISABLING_MS = 2_000;

/** Local mode's event source mapping switch: pauses and resumes the forward poller (R9). */
export class LocalForwardSwitch implements ForwardSwitch {
  private source: SqsSource | undefined;
  private disabling: NodeJS.Timeout | undefined;
  /** Settles once a suspension has taken effect: the source paused, its invocations over. */
  private paused = Promise.withResolvers<void>();

  attach(source: SqsSource): void {
    this.source = source;
  }

  async suspend(): Promise<void> {
    this.disabling ??= setTimeout(() => {
      this.disabling = undefined;
      void this.source?.pause().then(this.paused.resolve);
    }, LOCAL_DISABLING_MS).unref();
  }

  async resume(): Promise<void> {
    clearTimeout(this.disabling);
    this.disabling = undefined;
    this.paused = Promise.withResolvers<void>();
    this.source?.resume();
  }

  /** Once a suspension has taken effect: no forward invocation runs, none starts. */
  whenPaused(): Promise<void> {
    return this.paused.promise;
  }
}

export interface PipelineOptions {
  readonly services: ServerServices;
  readonly dynamo: DynamoDBClient;
  readonly dynamoEndpoint: string;
  readonly sqs: SQSClient;
  readonly tableName: string;
  readonly queues: QueueAddresses;
  readonly forwarding: LocalForwardSwitch;
  readonly logger: Logger;
  readonly awsConfig: LocalAwsConfig;
  /** Sees every SDK client the pipeline creates (benchmarks count requests). */
  readonly instrument?: (client: DynamoDBStreamsClient) => void;
  /** Where a previous run's stream poller stopped (its `positions()`); the stream's start if absent. */
  readonly resumeFrom?: Readonly<Record<string, string>>;
  /** Counts into these (a restarted pipeline goes on counting); new counters if absent. */
  readonly stats?: PipelineStats;
}

/**
 * What the pipeline did, for benchmarks: Lambda bills each invocation, and its duration rounded
 * up to the millisecond (the billed milliseconds here are measured on this machine).
 */
export interface PipelineStats {
  captureInvocations: number;
  /** Stream records handed to capture (those its filter criteria let through). */
  captureRecords: number;
  forwardInvocations: number;
  captureBilledMs: number;
  forwardBilledMs: number;
}

/** Counters at zero. */
export const emptyPipelineStats = (): PipelineStats => ({
  captureInvocations: 0,
  captureRecords: 0,
  forwardInvocations: 0,
  captureBilledMs: 0,
  forwardBilledMs: 0,
});

/** Runs one invocation, adding its billed duration (rounded up to 1 ms, as Lambda bills). */
async function billed<T>(run: () => Promise<T>, add: (ms: number) => void): Promise<T> {
  const started = performance.now();
  try {
    return await run();
  } finally {
    add(Math.ceil(performance.now() - started));
  }
}

/**
 * What AWS runs between the table and the failover for one region: the stream → capture
 * event source and the queue → forward event source, with the topology's settings.
 */
export async function startPipeline(options: PipelineOptions): Promise<{
  stats: PipelineStats;
  /** The last sequence number handled per shard: where a restart resumes (`resumeFrom`). */
  positions(): Readonly<Record<string, string>>;
  stop(): Promise<void>;
}> {
  const { services, logger } = options;
  const { Table } = await options.dynamo.send(
    new DescribeTableCommand({ TableName: options.tableName }),
  );
  if (!Table?.LatestStreamArn) throw new Error(`table ${options.tableName} has no stream`);
  const capture = createCaptureHandler({ ...services, logger });
  const forward = createForwardHandler({ ...services, retry: topology.forward.retry, logger });
  const { stream } = topology.capture;
  const stats: PipelineStats = options.stats ?? emptyPipelineStats();
  const positions: Record<string, string> = { ...options.resumeFrom };
  const streams = new DynamoDBStreamsClient({
    ...options.awsConfig,
    endpoint: options.dynamoEndpoint,
  });
  options.instrument?.(streams);

  const streamSource: StreamSource = await startStreamSource({
    client: streams,
    streamArn: Table.LatestStreamArn,
    handler: (event) => {
      stats.captureInvocations += 1;
      stats.captureRecords += event.Records.length;
      return billed(
        () => capture(event, lambdaContext("capture", topology.capture.timeoutSeconds * 1000)),
        (ms) => {
          stats.captureBilledMs += ms;
        },
      );
    },
    filters: [captureFilter],
    batchSize: stream.batchSize,
    maximumBatchingWindowSeconds: stream.maximumBatchingWindowSeconds,
    pollIntervalMs: stream.pollIntervalMs,
    maximumRetryAttempts: stream.maximumRetryAttempts,
    maximumRecordAgeSeconds: stream.maximumRecordAgeSeconds,
    bisectBatchOnFunctionError: stream.bisectBatchOnFunctionError,
    // From the start of the stream (24 h) at every start of the process: the local queue lives
    // in memory, so after a restart (MFT_DATA_DIR) replaying is what loses nothing; the version
    // rule makes the replayed changes that already arrived no-ops. A region brought back up
    // (`region … up`) resumes after what it had handled, as Lambda's event source mapping does.
    startingPosition: "TRIM_HORIZON",
    checkpoint: { ...options.resumeFrom },
    onCheckpoint: (shardId, sequenceNumber) => {
      positions[shardId] = sequenceNumber;
    },
    onFailure: (records, reason) =>
      logger.error("stream records dropped after retries: run failover repair", {
        count: records.length,
        reason,
      }),
    onError: (error) =>
      logger.warn("capture failed; the batch is retried", { error: String(error) }),
  });
  const sqsSource = await startSqsSource({
    client: options.sqs,
    queueUrl: options.queues.queueUrl,
    handler: (event) => {
      stats.forwardInvocations += 1;
      return billed(
        () => forward(event, lambdaContext("forward", topology.forward.timeoutSeconds * 1000)),
        (ms) => {
          stats.forwardBilledMs += ms;
        },
      );
    },
    batchSize: topology.forward.source.batchSize,
    // Lambda runs FIFO batches of different message groups side by side, up to the source's
    // MaximumConcurrency.
    concurrency: topology.forward.source.maxConcurrency,
    onError: (error) =>
      logger.warn("forward failed; the messages return to the queue", { error: String(error) }),
  });
  options.forwarding.attach(sqsSource);
  const { state } = await services.status.state();
  if (state === "suspended") await sqsSource.pause();
  return {
    stats,
    positions: () => ({ ...positions }),
    async stop() {
      await Promise.all([streamSource.stop(), sqsSource.stop()]);
    },
  };
}
