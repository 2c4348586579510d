import { Duration } from "aws-cdk-lib";
import { ComparisonOperator, MathExpression, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IEventBus } from "aws-cdk-lib/aws-events";
import type { LogGroup } from "aws-cdk-lib/aws-logs";
import type { StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { fullSyncDefinition } from "../../../functions/full-sync/definition.ts";
import { fullSyncLimits } from "../../../shared/sync/full/tasks.ts";
import type { Alarms } from "./alarms.ts";
import { MftFunction, type MftFunctionDefaults } from "./mft-function.ts";
import { FAILOVER_PASSWORD_SECRET, type Pipeline } from "./pipeline.ts";
import { taskStateMachine } from "./task-state-machine.ts";

/**
 * The placeholder the definition carries for the task function's ARN; CloudFormation's
 * DefinitionSubstitutions puts the ARN in, so the template holds fullSyncDefinition() verbatim.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder
export const FULL_SYNC_TASK_ARN = "${FullSyncTaskArn}";

/**
 * The task function's size. A Task hands back its cursor after taskBudgetMs; the timeout leaves
 * room for the last page and stays under the definition's Task TimeoutSeconds (budget + 240 s),
 * so a slow invocation ends as the function's own error, not a States.Timeout.
 */
export const fullSyncTaskSize = {
  entry: "functions/full-sync/handler.ts",
  timeoutSeconds: Math.ceil(fullSyncLimits.taskBudgetMs / 1000) + 180,
  memoryMb: 512,
} as const;

export interface FullSyncProps {
  /** The config table: read (scan, settings, lock) and written (runs, lock, status). */
  readonly table: ITable;
  /** Where the run's outcome is published (`Failover Synchronization`, R16). */
  readonly eventBus: IEventBus;
  /** The SecretStore prefix: the task reads the failover password under it. */
  readonly secretPrefix: string;
  /** Gives the task this server's addresses (functions/cloud.ts reads them all). */
  readonly pipeline: Pipeline;
  /** @default - MftFunction's defaults; logKey/logRetention also apply to the execution log */
  readonly functionDefaults?: MftFunctionDefaults;
}

/**
 * The on-demand full sync (Synchronize State, R11–R15): a STANDARD state machine running
 * fullSyncDefinition() — the same object the local runtime runs — whose every Task invokes one
 * function. Execution history goes to an encrypted log group at level ALL without execution
 * data (inputs and outputs never reach the log), and X-Ray traces every execution.
 */
export class FullSync extends Construct {
  readonly task: MftFunction;
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: FullSyncProps) {
    super(scope, id);
    const defaults = props.functionDefaults ?? {};

    this.task = props.pipeline
      .bindAddresses(
        new MftFunction(this, "Task", {
          ...defaults,
          ...fullSyncTaskSize,
          description:
            "Full sync (Synchronize State, R11–R15): every Task of the full-sync state machine",
        }),
      )
      // Settings, lock, run records and the scan of production; the failover password (its
      // peer's credentials); the outcome event. No queue: a full sync runs while auto sync is off.
      .bindTable(props.table, "readWrite")
      .bindSecretPrefix(props.secretPrefix, [FAILOVER_PASSWORD_SECRET], "read")
      .bindEventBus(props.eventBus);

    ({ logGroup: this.logGroup, stateMachine: this.stateMachine } = taskStateMachine(this, {
      name: "FullSync",
      definition: fullSyncDefinition(FULL_SYNC_TASK_ARN),
      taskArnKey: "FullSyncTaskArn",
      task: this.task,
      defaults,
    }));
  }

  /** Alarms when an execution fails or times out (ExecutionsFailed + ExecutionsTimedOut > 0). */
  addAlarms(alarms: Alarms): void {
    const period = Duration.minutes(5);
    alarms.add("FullSyncFailed", {
      description:
        "A full sync (Synchronize State) failed or timed out (R12, R22): see GET /api/failover/syncs/{syncId} and the state machine's execution history.",
      metric: new MathExpression({
        expression: "FILL(failed, 0) + FILL(timedOut, 0)",
        usingMetrics: {
          failed: this.stateMachine.metricFailed({ statistic: "Sum", period }),
          timedOut: this.stateMachine.metricTimedOut({ statistic: "Sum", period }),
        },
        period,
        label: "ExecutionsFailed + ExecutionsTimedOut",
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // Step Functions publishes only when executions end: no data means none failed.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
