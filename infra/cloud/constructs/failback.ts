import { Duration } from "aws-cdk-lib";
import { ComparisonOperator, MathExpression, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IEventBus } from "aws-cdk-lib/aws-events";
import type { LogGroup } from "aws-cdk-lib/aws-logs";
import type { StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { failbackDefinition } from "../../../functions/failback/definition.ts";
import { PRODUCTION_PASSWORD } from "../../../shared/sync/failback.ts";
import type { Alarms } from "./alarms.ts";
import { MftFunction, type MftFunctionDefaults } from "./mft-function.ts";
import { FAILOVER_PASSWORD_SECRET, type Pipeline } from "./pipeline.ts";
import { taskStateMachine } from "./task-state-machine.ts";

/**
 * The placeholder the definition carries for the task function's ARN; CloudFormation's
 * DefinitionSubstitutions puts the ARN in, so the template holds failbackDefinition() verbatim.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder
export const FAILBACK_TASK_ARN = "${FailbackTaskArn}";

/**
 * The name under the SecretStore prefix that holds production's admin password for the failover
 * (shared/sync/failback.ts): written by POST /api/failover/failback (admin API), read by step 2.
 */
export const FAILBACK_PRODUCTION_PASSWORD_SECRET = PRODUCTION_PASSWORD;

/** The shortest Task timeout of failbackDefinition() (every Task has one). */
export const failbackTaskTimeoutSeconds = Math.min(
  ...Object.values(failbackDefinition(FAILBACK_TASK_ARN).States).flatMap((state) => {
    const { Type, TimeoutSeconds } = state as { Type: string; TimeoutSeconds?: number };
    return Type === "Task" ? [TimeoutSeconds ?? Number.POSITIVE_INFINITY] : [];
  }),
);

/**
 * The task function's size. A step takes seconds, but verify (step 5) reads both whole
 * configurations in one Task; the timeout stays a minute under the definition's Task
 * TimeoutSeconds, so a slow invocation ends as the function's own error (caught, recorded by
 * RecordFailure) and never as a States.Timeout while the invocation still runs and may record
 * its step after the failure.
 */
export const failbackTaskSize = {
  entry: "functions/failback/handler.ts",
  timeoutSeconds: failbackTaskTimeoutSeconds - 60,
  memoryMb: 512,
} as const;

export interface FailbackProps {
  /** The config table: settings, lock and run records (LOCAL items), and verify's scan. */
  readonly table: ITable;
  /** Where the run's outcome is published (`Failover Synchronization`, Mode `failback`). */
  readonly eventBus: IEventBus;
  /** The SecretStore prefix: the task reads the failover password and production's password. */
  readonly secretPrefix: string;
  /** Gives the task this server's addresses, and what resuming sync (step 6) needs. */
  readonly pipeline: Pipeline;
  /** @default - MftFunction's defaults; logKey/logRetention also apply to the execution log */
  readonly functionDefaults?: MftFunctionDefaults;
}

/**
 * The failback (R19) as FullSync deploys the full sync: a STANDARD state machine running
 * failbackDefinition() — the same object the local runtime runs — whose every Task invokes one
 * function. Execution history goes to an encrypted log group at level ALL without execution
 * data, and X-Ray traces every execution. POST /api/failover/failback starts it (admin API).
 */
export class Failback extends Construct {
  readonly task: MftFunction;
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: FailbackProps) {
    super(scope, id);
    const defaults = props.functionDefaults ?? {};
    if (!Number.isFinite(failbackTaskTimeoutSeconds) || failbackTaskSize.timeoutSeconds < 60) {
      throw new Error(
        "Failback: every Task of failbackDefinition() needs TimeoutSeconds of at least 120 (the function gets a minute less)",
      );
    }

    this.task = props.pipeline
      .bindAddresses(
        new MftFunction(this, "Task", {
          ...defaults,
          ...failbackTaskSize,
          description: "Failback (R19): every Task of the failback state machine",
        }),
      )
      // Run records and the lock (LOCAL items, conditional puts), production's failover settings
      // (read, written by steps 1 and 6), the status, and verify's scan and queries (step 5).
      .bindTable(props.table, "readWrite")
      // The failover's admin password (production's failover settings) and production's own,
      // which step 2 hands to the failover; only the admin API writes either.
      .bindSecretPrefix(
        props.secretPrefix,
        [FAILOVER_PASSWORD_SECRET, FAILBACK_PRODUCTION_PASSWORD_SECRET],
        "read",
      )
      // The outcome event (and SyncFailures, an EMF log line: no permission).
      .bindEventBus(props.eventBus);
    // Step 6 resumes sync suspended meanwhile (resumeSync, as POST /api/failover/resume does):
    // forward's mapping, queue depths, DLQ redrive; the same grant as the admin API's.
    props.pipeline.grantResume(this.task);

    ({ logGroup: this.logGroup, stateMachine: this.stateMachine } = taskStateMachine(this, {
      name: "Failback",
      definition: failbackDefinition(FAILBACK_TASK_ARN),
      taskArnKey: "FailbackTaskArn",
      task: this.task,
      defaults,
    }));
  }

  /**
   * Alarms when an execution fails, times out or is stopped (ExecutionsFailed +
   * ExecutionsTimedOut + ExecutionsAborted > 0): production is between roles until it is resumed.
   */
  addAlarms(alarms: Alarms): void {
    const period = Duration.minutes(5);
    alarms.add("FailbackFailed", {
      description:
        "A failback (R19) failed, timed out or was stopped: production may be between roles. See GET /api/failover/failbacks/{failbackId} for the step and reason, then resume it (POST /api/failover/failback with resume).",
      metric: new MathExpression({
        expression: "FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)",
        usingMetrics: {
          failed: this.stateMachine.metricFailed({ statistic: "Sum", period }),
          timedOut: this.stateMachine.metricTimedOut({ statistic: "Sum", period }),
          aborted: this.stateMachine.metricAborted({ statistic: "Sum", period }),
        },
        period,
        label: "ExecutionsFailed + ExecutionsTimedOut + ExecutionsAborted",
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // Step Functions publishes only when executions end: no data means none failed.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
