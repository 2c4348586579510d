import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import {
  DefinitionBody,
  LogLevel,
  StateMachine,
  StateMachineType,
} from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import { acknowledge, NAG } from "../compliance.ts";
import { stackLogGroup, VENDED_LOGS } from "./log-group.ts";
import type { MftFunction, MftFunctionDefaults } from "./mft-function.ts";

/** Where Step Functions' execution logs go: vended log delivery needs no resource policy there. */
export const VENDED_LOGS_PREFIX = `${VENDED_LOGS}states/`;

export interface TaskStateMachineProps {
  /** Names the log group (`…-{name}-…`). */
  readonly name: string;
  /** The ASL, as the local runtime runs it, with a `${placeholder}` for the task's ARN. */
  readonly definition: object;
  /** The DefinitionSubstitutions key of that placeholder. */
  readonly taskArnKey: string;
  /** The one function every Task invokes. */
  readonly task: MftFunction;
  readonly defaults: MftFunctionDefaults;
}

/**
 * A STANDARD state machine whose every Task invokes one function (full sync, failback).
 * Execution history goes to an encrypted log group at level ALL without execution data (inputs
 * and outputs never reach the log), and X-Ray traces every execution.
 */
export function taskStateMachine(scope: Construct, props: TaskStateMachineProps) {
  const { defaults, task } = props;
  // Step Functions logs through CloudWatch Logs' vended log delivery.
  const logGroup = stackLogGroup(scope, "Logs", {
    defaults,
    vended: { service: "states", name: props.name },
  });

  const stateMachine = new StateMachine(scope, "StateMachine", {
    stateMachineType: StateMachineType.STANDARD,
    definitionBody: DefinitionBody.fromString(JSON.stringify(props.definition)),
    definitionSubstitutions: { [props.taskArnKey]: task.functionArn },
    logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
    tracingEnabled: true,
  });
  // Invoke the task function, by its unqualified ARN (what every Task's Resource names), only.
  stateMachine.addToRolePolicy(
    new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [task.functionArn] }),
  );
  acknowledge(stateMachine.role, `${NAG}::AwsSolutions-IAM5[Resource::*]`, {
    reason:
      "CDK's logging and tracing grants for a state machine: the logs:*LogDelivery, " +
      "logs:*ResourcePolicy/DescribeLogGroups and xray:PutTraceSegments/GetSampling* actions " +
      "have no resource-level permissions; invoking the task function names its ARN.",
  });
  return { logGroup, stateMachine };
}
