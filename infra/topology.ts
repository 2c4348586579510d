import { FORWARD_RETRY } from "../shared/sync/forward.ts";
import { GATEWAY_LIMIT_MS } from "../shared/sync/peer.ts";

/**
 * Which function is fed by what, with batch sizes, retries and timeouts: the one description
 * that both the CDK stack (infra/cloud) and the local runtime (infra/local) read, so the two
 * cannot drift apart.
 */
export const topology = {
  adminApi: {
    entry: "functions/admin-api/handler.ts",
    timeoutSeconds: GATEWAY_LIMIT_MS / 1000, // API Gateway's integration limit
    memoryMb: 512,
    /**
     * API Gateway throttle of each receiving-side route (`POST /api/sync/events` and
     * `ANY /api/sync/{proxy+}`, the stage's RouteSettings) instead of the stage's default route
     * throttle (100 rps, burst 200) that the admin routes keep: a burst of sync traffic cannot
     * starve the console and the CLI, nor admin scripts throttle sync (R9 counts 429s as an
     * unreachable failover, toward suspension). Sized above what one sender's forward can produce
     * (`forward.source.maxConcurrency` × at most 10 calls/s = 100 rps, with at most 10 calls in
     * flight), with room for the monitor's verify pages and the heartbeat on the same routes.
     * API Gateway's account limit (10,000 rps per region) still caps everything.
     */
    syncThrottle: { rateLimit: 200, burstLimit: 400 },
  },
  /** DynamoDB stream → capture → FIFO queue. */
  capture: {
    entry: "functions/capture/handler.ts",
    timeoutSeconds: 30,
    memoryMb: 256,
    stream: {
      /**
       * Up to 1,000 records per invocation: in a burst, a message group's changes of one batch go
       * out packed in one message (shared/sync/capture.ts), and the more a batch holds, the fuller
       * the messages.
       */
      batchSize: 1_000,
      /**
       * Lambda's MaximumBatchingWindowInSeconds, played by the local poller too: how long records
       * are gathered before capture is invoked. Whole seconds only (the API takes an integer), so
       * the shortest window, 1 s, would hold a single change back by up to a second — past the
       * lag goal (p99 ≤ 0.5 s, issue 25). 0: each poll's records go at once.
       */
      maximumBatchingWindowSeconds: 0,
      /** Lambda's stream poll interval locally; in AWS it is the service's own. */
      pollIntervalMs: 250,
      /**
       * -1: retried until the record's maximum age, never skipped after a count. What capture
       * gives up on is gone (the on-failure queue keeps only shard pointers, the stream keeps
       * records 24 hours), so it keeps trying while the StreamIteratorAge alarm calls someone.
       */
      maximumRetryAttempts: -1,
      bisectBatchOnFunctionError: true,
      /** The stream's retention: a record is retried as long as the stream holds it. */
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
      /**
       * Receives before SQS moves a message to the DLQ. Rejected changes are dead-lettered by
       * forward itself (R10); this only ends crash loops. It must outlast an outage of the
       * failover until suspension (suspendAfterSeconds, 2 minutes by default, with backoff up to
       * 30 s: about 7 receives; the local SQS server also counts each backoff as a receive).
       */
      maxReceiveCount: 20,
      retentionDays: 14,
    },
    source: {
      batchSize: 10,
      reportBatchItemFailures: true,
      /**
       * Lambda's MaximumConcurrency for this source (2–1000). A FIFO source runs one batch per
       * message group at a time, so it scales with MESSAGE_GROUPS (shared/sync/capture.ts, as
       * many as this). Each invocation has one `/api/sync/events` call in flight at a time (one
       * per batch of 10 packed messages; retries wait 200/400 ms first), so at most ~10 calls/s
       * per invocation: 4 invocations make ≤ 40 calls/s, well under the peer's sync throttle
       * (adminApi.syncThrottle), never more than 4 at once. A call carries every change of its
       * messages (a message group's changes of one stream batch per message, up to 64 KB), so a
       * burst is bounded by the receiver's writes rather than by the number of calls: more
       * invocations side by side would only wait on the same writes, billed while they wait
       * (issue 25: 10 side by side were billed 1.7–2.2 times the Lambda time per change of 4, at
       * the same burst rate).
       */
      maxConcurrency: 4,
    },
    /** Retries within one invocation, before the message is handed back to SQS (R9). */
    retry: FORWARD_RETRY,
  },
  /**
   * Schedules → monitor: production's heartbeat through the pipeline (R20; it also resumes sync
   * suspended by an outage, R9) and the verification against the failover (R21).
   */
  monitor: {
    entry: "functions/monitor/handler.ts",
    /** A verify reads both whole configurations (100,000 users: about a minute here). */
    timeoutSeconds: 900,
    memoryMb: 512,
    heartbeat: { everySeconds: 60 },
    verify: { everyMinutes: 60 },
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
