import { join } from "node:path";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../infra/cloud/constructs/mft-function.ts";
import { testConfig } from "../cloud-app.ts";
import { metricsPublishedIn, publishedMetrics } from "../source-scan.ts";
import {
  alarmTopicId,
  arnOf,
  failoverTemplate,
  functionId,
  idOf,
  loadTemplates,
  METRICS_NAMESPACE,
  only,
  queueId,
  type Resources,
  template,
} from "./template.ts";

beforeAll(loadTemplates, 180_000);

describe("events and alarms (R16, R22)", () => {
  it("has its own EventBridge bus, named in forward's and admin-api's environment", () => {
    const bus = only(template.findResources("AWS::Events::EventBus")).id;
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^FIFO queue"),
      Environment: { Variables: Match.objectLike({ EVENT_BUS_NAME: { Ref: bus } }) },
    });
  });

  it("emails the configured address from an encrypted topic", () => {
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: testConfig.alarmEmail,
    });
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
  });

  it("lets CloudWatch alarms of this account publish to the alarm topic and use its key (R22)", () => {
    // enforceSSL's topic policy replaces SNS's default one: without this, no alarm notifies.
    for (const [t, region] of [
      [template, testConfig.productionRegion],
      [failoverTemplate, testConfig.failoverRegion],
    ] as const) {
      const topic = only(
        t.findResources("AWS::SNS::Topic", { Properties: { DisplayName: "mft-failover alarms" } }),
      );
      t.hasResourceProperties("AWS::SNS::TopicPolicy", {
        Topics: [{ Ref: topic.id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: "CloudWatchAlarmsOfThisAccountPublish",
              Effect: "Allow",
              Principal: { Service: "cloudwatch.amazonaws.com" },
              Action: "sns:Publish",
              Resource: { Ref: topic.id },
              Condition: {
                StringEquals: { "aws:SourceAccount": testConfig.account },
                ArnLike: { "aws:SourceArn": arnOf("cloudwatch", "alarm:*", region) },
              },
            },
          ]),
        },
      });
      // The topic is encrypted with the stack key, whose policy lets CloudWatch use it.
      const key = (topic.props.KmsMasterKeyId as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"];
      expect(key[1]).toBe("Arn");
      t.hasResourceProperties("AWS::KMS::Key", {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Allow",
              Principal: { Service: "cloudwatch.amazonaws.com" },
              Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
              // Only this account's alarms may use the key (R25: no confused deputy).
              Condition: { StringEquals: { "aws:SourceAccount": testConfig.account } },
            }),
          ]),
        },
      });
      expect(Object.keys(t.findResources("AWS::KMS::Key"))).toEqual([key[0]]);
    }
  });

  it("sends every alarm to the topic on ALARM and OK, with treatMissingData set", () => {
    const topic = alarmTopicId();
    const alarms = template.findResources("AWS::CloudWatch::Alarm") as Resources;
    expect(Object.keys(alarms)).toHaveLength(19);
    for (const { Properties } of Object.values(alarms)) {
      expect(Properties).toMatchObject({
        ActionsEnabled: true,
        AlarmActions: [{ Ref: topic }],
        OKActions: [{ Ref: topic }],
        TreatMissingData: expect.stringMatching(/^(notBreaching|breaching|ignore)$/),
      });
    }
  });

  it("alarms on DLQ messages, stream iterator age, oldest queued message, failed syncs, missed heartbeats and drift", () => {
    const dlq = queueId({ FifoQueue: true, RedrivePolicy: Match.absent() });
    const queue = queueId({ FifoQueue: true, RedrivePolicy: Match.anyValue() });
    const captureFailures = idOf("AWS::SQS::Queue", "PipelineCaptureFailures");
    for (const target of [dlq, captureFailures]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [target, "QueueName"] } }],
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      });
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "IteratorAge",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: functionId("DynamoDB stream") } }],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queue, "QueueName"] } }],
    });
    for (const [metric, operator, threshold, missing] of [
      ["SUM(SyncFailures)", "GreaterThanOrEqualToThreshold", 1, "notBreaching"],
      // NOT_BREACHING: a server with sync off publishes no heartbeat at all (alarms.ts).
      ["MAX(HeartbeatMissed)", "GreaterThanOrEqualToThreshold", 1, "notBreaching"],
      ["MAX(Drift)", "GreaterThanThreshold", 0, "ignore"],
    ] as const) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        ComparisonOperator: operator,
        Threshold: threshold,
        TreatMissingData: missing,
        Metrics: [
          Match.objectLike({
            Expression: `SELECT ${metric} FROM "${METRICS_NAMESPACE}"`,
            ReturnData: true,
            Period: 300,
          }),
        ],
      });
    }
  });
});

describe("every alarm watches a metric the code publishes (R22)", () => {
  /** The `MftFailover` metric names each alarm watches, by alarm id. */
  const alarmedMetrics = (t: Template): [string, string][] => {
    type Stat = { Metric?: { Namespace?: string; MetricName?: string } };
    type AlarmProps = {
      Namespace?: string;
      MetricName?: string;
      Metrics?: { Expression?: string; MetricStat?: Stat }[];
    };
    const found: [string, string][] = [];
    for (const [id, { Properties }] of Object.entries(
      t.findResources("AWS::CloudWatch::Alarm") as Record<string, { Properties: AlarmProps }>,
    )) {
      if (Properties.Namespace === METRICS_NAMESPACE && Properties.MetricName) {
        found.push([id, Properties.MetricName]);
      }
      for (const { Expression, MetricStat } of Properties.Metrics ?? []) {
        const metric = MetricStat?.Metric;
        if (metric?.Namespace === METRICS_NAMESPACE && metric.MetricName) {
          found.push([id, metric.MetricName]);
        }
        if (!Expression || !/\bSELECT\b/i.test(Expression)) continue;
        // Metrics Insights: SELECT MAX(Name) FROM "Namespace" | SCHEMA("Namespace", …) …
        const query =
          /^SELECT\s+\w+\(\s*"?(\w+)"?\s*\)\s+FROM\s+(?:SCHEMA\(\s*)?"?([^",)\s]+)"?/i.exec(
            Expression.trim(),
          );
        expect(query, `${id}: a query this test can read: ${Expression}`).not.toBeNull();
        if (query?.[1] && query[2] === METRICS_NAMESPACE) found.push([id, query[1]]);
      }
    }
    return found;
  };

  it("finds each alarmed MftFailover metric published by functions/ or shared/ code", () => {
    const alarmed = alarmedMetrics(template);
    const published = publishedMetrics(["functions", "shared"]);
    const unpublished = alarmed.filter(([, name]) => !published.has(name));
    expect(unpublished.map(([id, name]) => `${id} watches ${name}`)).toEqual([]);
    // The collector found them (the query parsed): the R22 metrics and the triggers' one.
    expect(new Set(alarmed.map(([, name]) => name))).toEqual(
      new Set(["SyncFailures", "HeartbeatMissed", "HeartbeatAge", "Drift", "TriggerActionsFailed"]),
    );
  });

  it("counts publishing calls only, not a name in a comment, a type or a string", () => {
    const source = [
      '// metrics.publish({ Drift: 1 }) and addMetric("Drift", …) in a comment',
      "/* deps.metrics.publish({ Drift: 1 }) */",
      'export type MetricName = "SyncFailures" | "Drift";',
      "const note = 'metrics.addMetric(\"Drift\", MetricUnit.Count, 1)';",
      "const published = { HeartbeatMissed: 1 };",
      "await deps.metrics.publish({ SyncFailures: failed ? 1 : 0, Drift });",
      'metrics.addMetric("TriggerActionsFailed", MetricUnit.Count, failed);',
    ].join("\n");
    expect(metricsPublishedIn("fixture.ts", source)).toEqual([
      "SyncFailures",
      "Drift",
      "TriggerActionsFailed",
    ]);
    // shared/metrics.ts names every metric in its MetricName type and comments, and publishes none.
    expect(metricsPublishedIn(join(REPO_ROOT, "shared", "metrics.ts"))).toEqual([]);
  });
});
