import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { fullSyncDefinition, taskStateNames } from "../../../functions/full-sync/definition.ts";
import { FULL_SYNC_TASK_ARN, fullSyncTaskSize } from "../../../infra/cloud/constructs/full-sync.ts";
import { VENDED_LOGS_PREFIX } from "../../../infra/cloud/constructs/task-state-machine.ts";
import { testConfig } from "../cloud-app.ts";
import {
  executionMetric,
  expectLoggedAndTraced,
  functionId,
  idOf,
  loadTemplates,
  stateMachineOf,
  statementsOf,
  statesStatements,
  template,
} from "./template.ts";

beforeAll(loadTemplates, 180_000);

describe("full sync (Synchronize State, R11–R15)", () => {
  const stateMachine = () => stateMachineOf("FullSyncStateMachine");

  it("deploys fullSyncDefinition() verbatim as a STANDARD state machine, the task ARN substituted", () => {
    const { props } = stateMachine();
    expect(props.StateMachineType).toBe("STANDARD");
    expect(props.DefinitionString).toBe(JSON.stringify(fullSyncDefinition(FULL_SYNC_TASK_ARN)));
    expect(props.DefinitionSubstitutions).toEqual({
      FullSyncTaskArn: { "Fn::GetAtt": [functionId("Full sync"), "Arn"] },
    });
    const deployed = JSON.parse(props.DefinitionString as string) as {
      States: Record<string, unknown>;
    };
    const local = fullSyncDefinition("arn:aws:lambda:us-east-1:000000000000:function:local");
    expect(Object.keys(deployed.States)).toEqual(Object.keys(local.States));
    expect(taskStateNames(deployed)).toEqual(taskStateNames(local));
  });

  it("logs ALL events without execution data to an encrypted log group, and traces with X-Ray", () => {
    const { props } = stateMachine();
    const logGroup = idOf("AWS::Logs::LogGroup", "FullSyncLogs");
    expectLoggedAndTraced(props, logGroup);
  });

  it("logs under /aws/vendedlogs/states/ (no log resource policy per group), named per stack instance", () => {
    const logGroup = idOf("AWS::Logs::LogGroup", "FullSyncLogs");
    const stackIdPart = {
      "Fn::Select": [
        4,
        {
          "Fn::Split": [
            "-",
            { "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "AWS::StackId" }] }] },
          ],
        },
      ],
    };
    expect(template.toJSON().Resources[logGroup].Properties.LogGroupName).toEqual({
      "Fn::Join": [
        "",
        [
          `${VENDED_LOGS_PREFIX}${testConfig.stackPrefix}-${testConfig.productionRegion}-FullSync-`,
          stackIdPart,
        ],
      ],
    });
    expect(VENDED_LOGS_PREFIX).toBe("/aws/vendedlogs/states/");
  });

  it("lets its role invoke the task function only (logging and tracing aside)", () => {
    const { props } = stateMachine();
    const role = (props.RoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    expect(role).toMatch(/^FullSyncStateMachineRole/);
    const statements = statementsOf(role);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.every((a) => /^(logs|xray):/.test(a) || a === "lambda:InvokeFunction")).toBe(
      true,
    );
    const invoke = statements.filter((s) => [s.Action].flat().includes("lambda:InvokeFunction"));
    expect(invoke).toEqual([
      expect.objectContaining({
        Action: "lambda:InvokeFunction",
        Resource: { "Fn::GetAtt": [functionId("Full sync"), "Arn"] },
      }),
    ]);
  });

  it("is started by admin-api only: STATE_MACHINE_ARN and states:StartExecution on it", () => {
    const { id } = stateMachine();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^The admin API"),
      Environment: { Variables: Match.objectLike({ STATE_MACHINE_ARN: { Ref: id } }) },
    });
    const onThis = statesStatements().filter((s) => JSON.stringify(s.Resource).includes(id));
    expect(onThis).toEqual([
      expect.objectContaining({
        roles: [{ Ref: expect.stringMatching(/^AdminApiRole/) }],
        Action: "states:StartExecution",
        Resource: { Ref: id },
      }),
    ]);
  });

  it("lets the task read/write the table, read the failover password and publish on the bus, no queue", () => {
    const actions = statementsOf("FullSyncTaskRole").flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        "dynamodb:Scan",
        "dynamodb:PutItem",
        "secretsmanager:GetSecretValue",
        "events:PutEvents",
      ]),
    );
    expect(actions.filter((a) => /^(sqs|lambda|states):|PutSecretValue/.test(a))).toEqual([]);
  });

  it("gives a Task its budget and the last page, inside the definition's Task timeout", () => {
    const taskTimeouts = JSON.stringify(fullSyncDefinition(FULL_SYNC_TASK_ARN)).match(
      /"TimeoutSeconds":\d+/g,
    );
    const perTask = Math.min(...(taskTimeouts ?? []).map((t) => Number(t.split(":")[1])));
    expect(fullSyncTaskSize.timeoutSeconds).toBeLessThan(perTask);
  });

  it("alarms on failed or timed-out executions", () => {
    const { id } = stateMachine();
    const stat = (metric: string) => executionMetric(id, metric);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      TreatMissingData: "notBreaching",
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: "FILL(failed, 0) + FILL(timedOut, 0)", ReturnData: true }),
        stat("ExecutionsFailed"),
        stat("ExecutionsTimedOut"),
      ]),
    });
  });
});
