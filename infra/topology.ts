/**
 * Which function is fed by what, with batch sizes, retries and timeouts: the one description
 * that both the CDK stack (infra/cloud) and the local runtime (infra/local) read, so the two
 * cannot drift apart.
 */
export const topology = {
  adminApi: {
    entry: "functions/admin-api/handler.ts",
    timeoutSeconds: 29, // API Gateway's integration limit
    memoryMb: 512,
  },
  /** DynamoDB stream → capture → FIFO queue. */
  capture: {
    entry: "functions/capture/handler.ts",
    timeoutSeconds: 30,
    memoryMb: 256,
    stream: {
      batchSize: 100,
      /** Lambda's stream poll interval locally; in AWS it is the service's own. */
      pollIntervalMs: 250,
      maximumRetryAttempts: 10,
      bisectBatchOnFunctionError: true,
      maximumRecordAgeSeconds: 24 * 3600,
      reportBatchItemFailures: true,
      startingPosition: "TRIM_HORIZON",
    },
  },
  /** FIFO queue → forward → failover's /api/sync/events. */
  forward: {
    entry: "functions/forward/handler.ts",
    timeoutSeconds: 60,
    memoryMb: 256,
    queue: {
      /** ≥ 6 × the function timeout, as AWS recommends for SQS event sources. */
      visibilityTimeoutSeconds: 360,
      /** Receives before a message goes to the DLQ (R9, R10). */
      maxReceiveCount: 5,
      retentionDays: 14,
    },
    source: {
      batchSize: 10,
      reportBatchItemFailures: true,
    },
    /** Retries within one invocation, before the message is handed back to SQS (R9). */
    retry: { attempts: 3, baseDelayMs: 200 },
  },
} as const;

export type Topology = typeof topology;
