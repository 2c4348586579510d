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
  /**
   * DynamoDB stream (SERVER / TRIGGER#… keys only) → trigger-rules → one EventBridge rule per
   * enabled trigger (R17). The stream's second consumer after capture: DynamoDB allows two per shard.
   */
  triggerRules: {
    entry: "functions/trigger-rules/handler.ts",
    timeoutSeconds: 300,
    memoryMb: 256,
    stream: {
      batchSize: 100,
      /** Off: the handler reports the first failed record itself (ReportBatchItemFailures). */
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: 10,
      maximumRecordAgeSeconds: 24 * 3600,
      reportBatchItemFailures: true,
      startingPosition: "TRIM_HORIZON",
    },
    /** `{"reconcile": true}` on a schedule: every rule made to match the triggers again. */
    reconcileEveryHours: 1,
  },
  /** A trigger's EventBridge rule → trigger-actions (async invoke) → Send Email / HTTP request. */
  triggerActions: {
    entry: "functions/trigger-actions/handler.ts",
    /** Worst case: 11 attempts × 30 s of an HTTP action, plus backoff. */
    timeoutSeconds: 600,
    memoryMb: 256,
    /** Lambda's async retries of a failed invocation (its default), then the on-failure queue. */
    asyncRetryAttempts: 2,
  },
} as const;

export type Topology = typeof topology;
