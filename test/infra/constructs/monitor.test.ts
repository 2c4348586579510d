import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { topology } from "../../../infra/topology.ts";
import { testConfig } from "../cloud-app.ts";
import {
  failoverTemplate,
  functionId,
  loadTemplates,
  METRICS_NAMESPACE,
  only,
  type Resources,
  statementsOf,
  template,
} from "./template.ts";

beforeAll(loadTemplates, 180_000);

describe("monitor (R20 heartbeat, R21 verify)", () => {
  const actionsOf = (role: string) =>
    new Set(statementsOf(role).flatMap((statement) => [statement.Action].flat()));
  const schedules = () =>
    Object.values(template.findResources("AWS::Scheduler::Schedule") as Resources).map(
      ({ Properties }) =>
        Properties as {
          ScheduleExpression: string;
          State: string;
          FlexibleTimeWindow: { Mode: string };
          Target: { Arn: unknown; Input: string; RoleArn: { "Fn::GetAtt": [string, string] } };
        },
    );

  it("invokes the monitor on two EventBridge Scheduler schedules: heartbeat and verify", () => {
    const monitor = functionId("Monitor");
    const { heartbeat, verify } = topology.monitor;
    const found = schedules().map((s) => ({
      expression: s.ScheduleExpression,
      state: s.State,
      window: s.FlexibleTimeWindow.Mode,
      target: s.Target.Arn,
      input: JSON.parse(s.Target.Input) as unknown,
    }));
    const every = (minutes: number) => `rate(${minutes} minute${minutes === 1 ? "" : "s"})`;
    const base = { state: "ENABLED", window: "OFF", target: { "Fn::GetAtt": [monitor, "Arn"] } };
    expect(found).toHaveLength(2);
    expect(found).toContainEqual({
      ...base,
      expression: every(heartbeat.everySeconds / 60),
      input: { task: "heartbeat", intervalSeconds: heartbeat.everySeconds },
    });
    expect(found).toContainEqual({
      ...base,
      expression: verify.everyMinutes === 60 ? "rate(1 hour)" : every(verify.everyMinutes),
      input: { task: "verify" },
    });
  });

  it("lets the schedules' role, trusted by Scheduler for this account, invoke the monitor only", () => {
    const monitor = functionId("Monitor");
    const roles = new Set(schedules().map((s) => s.Target.RoleArn["Fn::GetAtt"][0]));
    expect(roles.size).toBe(1);
    const [role] = [...roles] as [string];
    expect(template.toJSON().Resources[role].Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        {
          Action: "sts:AssumeRole",
          Principal: { Service: "scheduler.amazonaws.com" },
          Condition: { StringEquals: { "aws:SourceAccount": testConfig.account } },
        },
      ],
    });
    expect(statementsOf(role)).toEqual([
      expect.objectContaining({
        Action: "lambda:InvokeFunction",
        Resource: [
          { "Fn::GetAtt": [monitor, "Arn"] },
          { "Fn::Join": ["", [{ "Fn::GetAtt": [monitor, "Arn"] }, ":*"]] },
        ],
      }),
    ]);
  });

  it("grants the monitor what resume, status and the heartbeat need: a subset of admin-api's", () => {
    const monitor = actionsOf("MonitorFunctionRole");
    const adminApi = actionsOf("AdminApiRole");
    for (const action of [
      "dynamodb:GetItem",
      "dynamodb:UpdateItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "secretsmanager:GetSecretValue",
      "events:PutEvents",
      "lambda:ListEventSourceMappings",
      "lambda:UpdateEventSourceMapping",
      "sqs:GetQueueAttributes",
      "sqs:StartMessageMoveTask",
      // Resume hands out what suspension put aside.
      "sqs:ChangeMessageVisibility",
    ]) {
      expect(monitor, action).toContain(action);
    }
    expect([...monitor].filter((action) => !adminApi.has(action))).toEqual([]);
    expect([...monitor].filter((a) => /^states:|PutSecretValue|CreateSecret/.test(a))).toEqual([]);
  });

  it("alarms when the monitor fails", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: functionId("Monitor") } }],
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
  });

  it("alarms in every region when the monitor stops being invoked: no data is breaching (R22)", () => {
    const { everySeconds } = topology.monitor.heartbeat;
    for (const t of [template, failoverTemplate]) {
      const monitor = only(
        t.findResources("AWS::Lambda::Function", {
          Properties: { Description: Match.stringLikeRegexp("^Monitor") },
        }),
      ).id;
      t.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/Lambda",
        MetricName: "Invocations",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: monitor } }],
        Statistic: "Sum",
        // Three heartbeats' time without one invocation: the schedule or the region is gone.
        Period: 3 * everySeconds,
        Threshold: 1,
        ComparisonOperator: "LessThanThreshold",
        TreatMissingData: "breaching",
      });
    }
  });

  it("alarms in the failover's region when production's heartbeats stop arriving there (R20, R22)", () => {
    const { everySeconds } = topology.monitor.heartbeat;
    // The same stack in both regions: whichever is the failover publishes HeartbeatAge.
    for (const t of [template, failoverTemplate]) {
      t.hasResourceProperties("AWS::CloudWatch::Alarm", {
        ComparisonOperator: "GreaterThanThreshold",
        // A few missed intervals: more than three heartbeats' time since the last one arrived.
        Threshold: 3 * everySeconds,
        // Only a failover publishes it; its monitor not running is the Invocations alarm.
        TreatMissingData: "notBreaching",
        Metrics: [
          Match.objectLike({
            Expression: `SELECT MAX(HeartbeatAge) FROM "${METRICS_NAMESPACE}"`,
            ReturnData: true,
          }),
        ],
      });
    }
  });
});
