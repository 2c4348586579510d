import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { failbackDefinition } from "../../../functions/failback/definition.ts";
import { FAILBACK_TASK_ARN, failbackTaskSize } from "../../../infra/cloud/constructs/failback.ts";
import { VENDED_LOGS_PREFIX } from "../../../infra/cloud/constructs/task-state-machine.ts";
import { testConfig } from "../cloud-app.ts";
import {
  alarmTopicId,
  executionMetric,
  expectLoggedAndTraced,
  functionId,
  idOf,
  loadTemplates,
  only,
  queueId,
  stateMachineOf,
  statementsOf,
  statesStatements,
  template,
} from "./template.ts";

beforeAll(loadTemplates, 180_000);

describe("failback (R19)", () => {
  const stateMachine = () => stateMachineOf("FailbackStateMachine");
  const task = () => functionId("Failback");
  const actionsOf = (role: string) =>
    new Set(statementsOf(role).flatMap((statement) => [statement.Action].flat()));
  /** The statements of the failback task's role that grant `action`. */
  const granting = (action: string) =>
    statementsOf("FailbackTaskRole").filter((s) => [s.Action].flat().includes(action));

  it("deploys failbackDefinition(<the task function's ARN>) as a STANDARD state machine", () => {
    const { props } = stateMachine();
    expect(props.StateMachineType).toBe("STANDARD");
    expect(props.DefinitionString).toBe(JSON.stringify(failbackDefinition(FAILBACK_TASK_ARN)));
    expect(props.DefinitionSubstitutions).toEqual({
      FailbackTaskArn: { "Fn::GetAtt": [task(), "Arn"] },
    });
    // What Step Functions runs once CloudFormation has substituted the ARN.
    const arn = "arn:aws:lambda:us-east-1:123456789012:function:mft-failback";
    const deployed = (props.DefinitionString as string).split(FAILBACK_TASK_ARN).join(arn);
    expect(JSON.parse(deployed)).toEqual(failbackDefinition(arn));
  });

  it("logs ALL events without execution data to an encrypted vended log group, and traces with X-Ray", () => {
    const { props } = stateMachine();
    const logGroup = idOf("AWS::Logs::LogGroup", "FailbackLogs");
    const logProps = expectLoggedAndTraced(props, logGroup);
    expect(logProps.LogGroupName["Fn::Join"][1][0]).toBe(
      `${VENDED_LOGS_PREFIX}${testConfig.stackPrefix}-${testConfig.productionRegion}-Failback-`,
    );
  });

  it("lets its role invoke the task function only (logging and tracing aside)", () => {
    const { props } = stateMachine();
    const role = (props.RoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    expect(role).toMatch(/^FailbackStateMachineRole/);
    const statements = statementsOf(role);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.every((a) => /^(logs|xray):/.test(a) || a === "lambda:InvokeFunction")).toBe(
      true,
    );
    expect(statements.filter((s) => [s.Action].flat().includes("lambda:InvokeFunction"))).toEqual([
      expect.objectContaining({
        Action: "lambda:InvokeFunction",
        Resource: { "Fn::GetAtt": [task(), "Arn"] },
      }),
    ]);
  });

  it("is started by admin-api only: FAILBACK_STATE_MACHINE_ARN and states:StartExecution on it", () => {
    const { id } = stateMachine();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^The admin API"),
      Environment: { Variables: Match.objectLike({ FAILBACK_STATE_MACHINE_ARN: { Ref: id } }) },
    });
    const onThis = statesStatements().filter((s) => JSON.stringify(s.Resource).includes(id));
    expect(onThis).toEqual([
      expect.objectContaining({
        roles: [{ Ref: expect.stringMatching(/^AdminApiRole/) }],
        Action: "states:StartExecution",
        Resource: { Ref: id },
      }),
    ]);
    // Nothing in the stack may do more with any state machine than admin-api's StartExecution.
    const machines = Object.keys(template.findResources("AWS::StepFunctions::StateMachine"));
    expect(statesStatements()).toEqual(
      machines.map((machine) =>
        expect.objectContaining({
          roles: [{ Ref: expect.stringMatching(/^AdminApiRole/) }],
          Action: "states:StartExecution",
          Resource: { Ref: machine },
        }),
      ),
    );
  });

  it("gives a Task's invocation less time than the definition's Task TimeoutSeconds", () => {
    const { props } = stateMachine();
    const deployed = JSON.parse(props.DefinitionString as string) as {
      States: Record<string, { Type: string; TimeoutSeconds?: number }>;
    };
    const tasks = Object.values(deployed.States).filter((state) => state.Type === "Task");
    expect(tasks.length).toBeGreaterThan(0);
    for (const state of tasks) {
      expect(state.TimeoutSeconds).toBeDefined();
      expect(failbackTaskSize.timeoutSeconds).toBeLessThan(state.TimeoutSeconds ?? 0);
    }
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Failback"),
      Timeout: failbackTaskSize.timeoutSeconds,
      MemorySize: failbackTaskSize.memoryMb,
    });
  });

  it("lets the task read/write the table, read both passwords, publish on the bus and resume sync", () => {
    const table = idOf("AWS::DynamoDB::Table", "StoreTable");
    const bus = only(template.findResources("AWS::Events::EventBus")).id;
    const queue = queueId({ FifoQueue: true, RedrivePolicy: Match.anyValue() });
    const dlq = queueId({ FifoQueue: true, RedrivePolicy: Match.absent() });
    const onTable = { "Fn::GetAtt": [table, "Arn"] };
    // Run record and lock (GetItem, conditional PutItem), settings, verify's scan and queries.
    for (const action of [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Scan",
      "dynamodb:Query",
    ]) {
      expect(
        granting(action).some((s) => JSON.stringify(s.Resource).includes(JSON.stringify(onTable))),
        action,
      ).toBe(true);
    }
    expect(granting("events:PutEvents")).toEqual([
      expect.objectContaining({ Resource: { "Fn::GetAtt": [bus, "Arn"] } }),
    ]);
    // Step 6: resumeSync as POST /api/failover/resume does it.
    const mapping = granting("lambda:UpdateEventSourceMapping");
    expect(mapping).toHaveLength(1);
    expect(JSON.stringify(mapping[0]?.Resource)).toMatch(/"Ref":"PipelineForwardSqsEventSource/);
    expect(JSON.stringify(granting("sqs:StartMessageMoveTask"))).toContain(
      JSON.stringify({ "Fn::GetAtt": [dlq, "Arn"] }),
    );
    expect(JSON.stringify(granting("sqs:ChangeMessageVisibility"))).toContain(
      JSON.stringify({ "Fn::GetAtt": [queue, "Arn"] }),
    );
  });

  it("grants the task a subset of admin-api's actions: no state machine, no secret write", () => {
    const failback = actionsOf("FailbackTaskRole");
    const adminApi = actionsOf("AdminApiRole");
    expect([...failback].filter((action) => !adminApi.has(action))).toEqual([]);
    expect(
      [...failback].filter((a) => /^states:|PutSecretValue|CreateSecret|DeleteSecret/.test(a)),
    ).toEqual([]);
  });

  it("alarms on failed, timed-out or aborted executions", () => {
    const { id } = stateMachine();
    const stat = (metric: string) => executionMetric(id, metric);
    const alarms = template.findResources("AWS::CloudWatch::Alarm", {
      Properties: {
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
        TreatMissingData: "notBreaching",
        AlarmActions: [{ Ref: alarmTopicId() }],
        Metrics: Match.arrayWith([
          Match.objectLike({
            Expression: "FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)",
            ReturnData: true,
          }),
          stat("ExecutionsFailed"),
          stat("ExecutionsTimedOut"),
          stat("ExecutionsAborted"),
        ]),
      },
    });
    expect(Object.keys(alarms)).toHaveLength(1);
  });

  it("outputs the state machine's ARN", () => {
    template.hasOutput("FailbackStateMachineArn", { Value: { Ref: stateMachine().id } });
  });
});
