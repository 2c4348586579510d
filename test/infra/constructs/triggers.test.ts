import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { buildCloudApp } from "../../../infra/cloud/build.ts";
import { DEFAULT_TRIGGER_RULE_PREFIX } from "../../../infra/cloud/constructs/triggers.ts";
import { topology } from "../../../infra/topology.ts";
import { testConfig } from "../cloud-app.ts";
import {
  functionId,
  idOf,
  loadTemplates,
  METRICS_NAMESPACE,
  only,
  type Resources,
  template,
} from "./template.ts";

beforeAll(loadTemplates, 180_000);

describe("triggers (R17)", () => {
  const ruleArnPattern = (bus: string) => ({
    "Fn::Join": [
      "",
      [
        "arn:",
        { Ref: "AWS::Partition" },
        `:events:${testConfig.productionRegion}:${testConfig.account}:rule/`,
        { Ref: bus },
        "/mft-trigger-*", // DEFAULT_TRIGGER_RULE_PREFIX, functions/trigger-rules' default
      ],
    ],
  });
  const ids = () => ({
    table: idOf("AWS::DynamoDB::Table", "StoreTable"),
    bus: only(template.findResources("AWS::Events::EventBus")).id,
    rules: functionId("Trigger rules"),
    actions: functionId("Trigger actions"),
    mailTopic: idOf("AWS::SNS::Topic", "TriggersMailTopic"),
    deadLetters: idOf("AWS::SQS::Queue", "TriggersDeadLetters"),
    rulesFailures: idOf("AWS::SQS::Queue", "TriggersRulesFailures"),
    actionsFailures: idOf("AWS::SQS::Queue", "TriggersActionsFailures"),
  });

  it("gives trigger-actions its table, server id and the SNS mail topic (no mailFrom configured)", () => {
    const { table, mailTopic } = ids();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Trigger actions"),
      Timeout: topology.triggerActions.timeoutSeconds,
      MemorySize: topology.triggerActions.memoryMb,
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: table },
          SERVER_ID: testConfig.productionRegion,
          MAIL_TOPIC_ARN: { Ref: mailTopic },
          MAIL_FROM: Match.absent(),
        }),
      },
    });
    template.hasResourceProperties("AWS::SNS::Topic", {
      DisplayName: "mft-failover",
      KmsMasterKeyId: Match.anyValue(),
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: Match.stringLikeRegexp("^TriggersTriggerActionsRole") }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ["dynamodb:GetItem", "dynamodb:Query"] }),
          Match.objectLike({ Action: "sns:Publish", Resource: { Ref: mailTopic } }),
        ]),
      },
    });
    template.hasOutput("MailTopicArn", { Value: { Ref: mailTopic } });
  });

  it("gives trigger-rules the bus, the actions function, the rule prefix and the target DLQ", () => {
    const { table, bus, actions, deadLetters } = ids();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Trigger rules"),
      Timeout: topology.triggerRules.timeoutSeconds,
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: table },
          SERVER_ID: testConfig.productionRegion,
          EVENT_BUS_NAME: { Ref: bus },
          TRIGGER_ACTIONS_FUNCTION_ARN: { "Fn::GetAtt": [actions, "Arn"] },
          TRIGGER_RULE_PREFIX: DEFAULT_TRIGGER_RULE_PREFIX,
          TRIGGER_DLQ_ARN: { "Fn::GetAtt": [deadLetters, "Arn"] },
        }),
      },
    });
  });

  it("feeds trigger-rules from the stream, filtered to SERVER / TRIGGER#…, without bisect", () => {
    const { table, rules, rulesFailures } = ids();
    const { stream } = topology.triggerRules;
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: rules },
      EventSourceArn: { "Fn::GetAtt": [table, "StreamArn"] },
      StartingPosition: stream.startingPosition,
      BatchSize: stream.batchSize,
      BisectBatchOnFunctionError: false,
      MaximumRetryAttempts: stream.maximumRetryAttempts,
      MaximumRecordAgeInSeconds: stream.maximumRecordAgeSeconds,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [rulesFailures, "Arn"] } },
      },
    });
    const mapping = only(
      template.findResources("AWS::Lambda::EventSourceMapping", {
        Properties: { FunctionName: { Ref: rules } },
      }),
    ).props as { FilterCriteria: { Filters: { Pattern: string }[] } };
    expect(mapping.FilterCriteria.Filters.map((f) => JSON.parse(f.Pattern))).toEqual([
      { dynamodb: { Keys: { pk: { S: ["SERVER"] }, sk: { S: [{ prefix: "TRIGGER#" }] } } } },
    ]);
  });

  it("keeps the table's stream at two consumers (DynamoDB's limit per shard)", () => {
    const { table } = ids();
    const readers = template.findResources("AWS::Lambda::EventSourceMapping", {
      Properties: { EventSourceArn: { "Fn::GetAtt": [table, "StreamArn"] } },
    });
    expect(Object.keys(readers)).toHaveLength(2);
  });

  it("lets only EventBridge, for this stack's trigger rules, invoke trigger-actions", () => {
    const { bus, actions } = ids();
    const permissions = template.findResources("AWS::Lambda::Permission", {
      Properties: { FunctionName: { "Fn::GetAtt": [actions, "Arn"] } },
    }) as Resources;
    expect(Object.values(permissions).map((p) => p.Properties)).toEqual([
      {
        Action: "lambda:InvokeFunction",
        FunctionName: { "Fn::GetAtt": [actions, "Arn"] },
        Principal: "events.amazonaws.com",
        SourceArn: ruleArnPattern(bus),
      },
    ]);
  });

  it("retries a failed trigger-actions invocation twice, then parks it in an encrypted queue", () => {
    const { actions, actionsFailures, rulesFailures, deadLetters } = ids();
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: actions },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [actionsFailures, "Arn"] } },
      },
    });
    for (const queue of [actionsFailures, rulesFailures, deadLetters]) {
      expect(template.toJSON().Resources[queue].Properties).toMatchObject({
        SqsManagedSseEnabled: true,
      });
      template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    }
  });

  it("lets trigger-rules manage only rules named <prefix>* on its bus, and list rules", () => {
    const { bus } = ids();
    const policy = only(
      template.findResources("AWS::IAM::Policy", {
        Properties: { Roles: [{ Ref: Match.stringLikeRegexp("^TriggersTriggerRulesRole") }] },
      }),
    ).props as {
      PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
    };
    const statements = policy.PolicyDocument.Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: [
          "events:PutRule",
          "events:PutTargets",
          "events:RemoveTargets",
          "events:DeleteRule",
        ],
        Resource: ruleArnPattern(bus),
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: "events:ListRules", Resource: "*" }),
    );
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).not.toContain("iam:PassRole");
    expect(actions).not.toContain("events:PutEvents");
    expect(actions.filter((a) => a.startsWith("events:")).sort()).toEqual(
      [
        "events:DeleteRule",
        "events:ListRules",
        "events:PutRule",
        "events:PutTargets",
        "events:RemoveTargets",
      ].sort(),
    );
  });

  it("lets EventBridge dead-letter only this stack's trigger rules' events", () => {
    const { bus, deadLetters } = ids();
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: deadLetters }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: "sqs:SendMessage",
            Condition: { ArnLike: { "aws:SourceArn": ruleArnPattern(bus) } },
          }),
        ]),
      },
    });
  });

  it('reconciles every hour with {"reconcile": true}', () => {
    const { rules } = ids();
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: `rate(${topology.triggerRules.reconcileEveryHours} hour)`,
      State: "ENABLED",
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [rules, "Arn"] },
          Input: JSON.stringify({ reconcile: true }),
        }),
      ],
    });
    template.hasOutput("TriggerRulesFunctionName", { Value: { Ref: rules } });
  });

  it("alarms on failed actions, failed invocations of both functions, trigger-rules' backlog and every failure queue", () => {
    const { rules, actions, deadLetters, rulesFailures, actionsFailures } = ids();
    for (const queue of [deadLetters, rulesFailures, actionsFailures]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queue, "QueueName"] } }],
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
      });
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      TreatMissingData: "notBreaching",
      Metrics: [
        Match.objectLike({
          Expression: `SELECT SUM(TriggerActionsFailed) FROM "${METRICS_NAMESPACE}"`,
          ReturnData: true,
        }),
      ],
    });
    for (const fn of [rules, actions]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Statistic: "Sum",
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: fn } }],
      });
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "IteratorAge",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: rules } }],
    });
  });

  it("sends email through SES instead when mailFrom is configured", () => {
    const app = new App({
      context: { "aws:cdk:bundling-stacks": [] },
      builtinCloudFormationValidation: false,
    });
    const { production } = buildCloudApp(
      app,
      { ...testConfig, mailFrom: "mft@mail.example.com", sesConfigurationSet: "mft-triggers" },
      { checks: false },
    );
    const ses = Template.fromStack(production);
    ses.resourceCountIs("AWS::SNS::Topic", 1); // the alarm topic only
    ses.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Trigger actions"),
      Environment: {
        Variables: Match.objectLike({
          MAIL_FROM: "mft@mail.example.com",
          SES_CONFIGURATION_SET: "mft-triggers",
          MAIL_TOPIC_ARN: Match.absent(),
        }),
      },
    });
    const sesArn = (resource: string) => ({
      "Fn::Join": [
        "",
        [
          "arn:",
          { Ref: "AWS::Partition" },
          `:ses:${testConfig.productionRegion}:${testConfig.account}:${resource}`,
        ],
      ],
    });
    ses.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: Match.stringLikeRegexp("^TriggersTriggerActionsRole") }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "ses:SendEmail",
            Resource: [
              sesArn("identity/mft@mail.example.com"),
              sesArn("identity/mail.example.com"),
              sesArn("configuration-set/mft-triggers"),
            ],
          }),
        ]),
      },
    });
    expect(Object.keys(ses.toJSON().Outputs)).not.toContain("MailTopicArn");
  });
});
