import { EMPTY_DIGEST } from "../../shared/sync/full/digest.ts";
import { fullSyncLimits } from "../../shared/sync/full/tasks.ts";

/** Only the Lambda service's own hiccups are retried; every step is safe to run again. */
export const LAMBDA_SERVICE_RETRY = [
  {
    ErrorEquals: [
      "Lambda.ServiceException",
      "Lambda.AWSLambdaException",
      "Lambda.SdkClientException",
      "Lambda.TooManyRequestsException",
      "Lambda.ClientExecutionTimeoutException",
    ],
    IntervalSeconds: 1,
    MaxAttempts: 3,
    BackoffRate: 2,
  },
];

/**
 * The full-sync state machine (R11–R13, R16), JSONPath ASL, defined once: the CDK stack deploys
 * this object and the local runtime runs the same object with aws-local-stepfunctions. Every
 * Task calls the one full-sync function with `task` naming the step (functions/full-sync/app.ts).
 *
 * Check → Lock → Wipe (Map over scan segments of the failover) → Copy (Map over scan segments of
 * production, page by page through the failover's /api/sync/full/items) → VerifyFailover (Map:
 * count + digest of what the failover holds) → Compare → StartAfterSync? → StartRunState (loop)
 * → Finish. Every state's Catch goes to RecordFailure (Success: false, reason, lock released).
 */
export function fullSyncDefinition(
  taskResource: string,
  segments: number = fullSyncLimits.segments,
) {
  // The Tasks without ResultPath replace the state with their result (the default, "$"; spelling
  // it out trips aws-local-stepfunctions 3.0.0, which treats "$" as a field name).
  const catchAll = [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "RecordFailure" }];
  // A Task gives back its cursor after taskBudgetMs; this leaves room for the last page.
  const TimeoutSeconds = Math.ceil(fullSyncLimits.taskBudgetMs / 1000) + 240;
  const task = (parameters: Record<string, unknown>, rest: Record<string, unknown>) => ({
    Type: "Task",
    Resource: taskResource,
    Parameters: parameters,
    TimeoutSeconds,
    Retry: LAMBDA_SERVICE_RETRY,
    ...rest,
  });

  /** A Map over the scan segments; each iteration calls `taskName` until its segment is done. */
  const segmentMap = (name: string, taskName: string, rest: Record<string, unknown>) => ({
    Type: "Map",
    ItemsPath: "$.segments",
    MaxConcurrency: segments,
    ItemSelector: {
      "syncId.$": "$.syncId",
      "segment.$": "$$.Map.Item.Value",
      "totalSegments.$": "$.totalSegments",
      done: false,
      records: 0,
      items: 0,
      domains: 0,
      digest: EMPTY_DIGEST,
    },
    ItemProcessor: {
      ProcessorConfig: { Mode: "INLINE" },
      StartAt: `${name}Segment`,
      States: {
        [`${name}Segment`]: task(
          { task: taskName, "state.$": "$" },
          { Next: `${name}SegmentDone?` },
        ),
        [`${name}SegmentDone?`]: {
          Type: "Choice",
          Choices: [{ Variable: "$.done", BooleanEquals: true, Next: `${name}SegmentFinished` }],
          Default: `${name}Segment`,
        },
        [`${name}SegmentFinished`]: { Type: "Succeed" },
      },
    },
    Catch: catchAll,
    ...rest,
  });

  return {
    Comment:
      "mft-failover full synchronization (Synchronize State): make the failover an exact copy of production's replicated configuration (R12)",
    TimeoutSeconds: Math.ceil(fullSyncLimits.executionTimeoutMs / 1000),
    StartAt: "Check",
    States: {
      Check: task({ task: "check", "syncId.$": "$.syncId" }, { Next: "Lock", Catch: catchAll }),
      Lock: task(
        { task: "lock", "syncId.$": "$.syncId" },
        { ResultPath: null, Next: "Wipe", Catch: catchAll },
      ),
      Wipe: segmentMap("Wipe", "wipeSegment", { ResultPath: null, Next: "Copy" }),
      Copy: segmentMap("Copy", "copySegment", { ResultPath: "$.copied", Next: "VerifyFailover" }),
      VerifyFailover: segmentMap("Verify", "verifySegment", {
        ResultPath: "$.verified",
        Next: "Compare",
      }),
      Compare: task(
        {
          task: "compare",
          state: { "syncId.$": "$.syncId", "copied.$": "$.copied", "verified.$": "$.verified" },
        },
        { ResultPath: "$.verify", Next: "StartAfterSync?", Catch: catchAll },
      ),
      "StartAfterSync?": {
        Type: "Choice",
        Choices: [{ Variable: "$.startAfterSync", BooleanEquals: true, Next: "StartRunState" }],
        Default: "Finish",
      },
      StartRunState: task(
        { task: "startRunState", "state.$": "$" },
        { ResultPath: "$.start", Next: "AllStarted?", Catch: catchAll },
      ),
      "AllStarted?": {
        Type: "Choice",
        Choices: [{ Variable: "$.start.done", BooleanEquals: true, Next: "Finish" }],
        Default: "StartRunState",
      },
      Finish: task(
        { task: "finish", state: { "syncId.$": "$.syncId" } },
        { ResultPath: "$.result", OutputPath: "$.result", End: true, Catch: catchAll },
      ),
      RecordFailure: task(
        { task: "fail", "syncId.$": "$.syncId", "error.$": "$.error" },
        {
          ResultPath: "$.result",
          Next: "FullSyncFailed",
          Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "FullSyncFailed" }],
        },
      ),
      FullSyncFailed: {
        Type: "Fail",
        Error: "FullSyncFailed",
        Cause: "the full sync failed; its reason is in GET /api/failover/syncs/{syncId}",
      },
    },
  };
}

export type FullSyncDefinition = ReturnType<typeof fullSyncDefinition>;

/** The names of the Task states, at any depth (the local runtime binds each to the handler). */
export function taskStateNames(definition: { States: Record<string, unknown> }): string[] {
  return Object.entries(definition.States).flatMap(([name, state]) => {
    const s = state as { Type: string; ItemProcessor?: { States: Record<string, unknown> } };
    if (s.Type === "Task") return [name];
    if (s.Type === "Map" && s.ItemProcessor) return taskStateNames(s.ItemProcessor);
    return [];
  });
}
