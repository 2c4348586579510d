import { ArnFormat, Duration, Stack } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Stats,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { topology } from "../../topology.ts";

export interface AlarmSpec {
  readonly description: string;
  readonly metric: IMetric;
  readonly threshold: number;
  readonly comparisonOperator: ComparisonOperator;
  readonly treatMissingData: TreatMissingData;
  /** @default 1 */
  readonly evaluationPeriods?: number;
}

export interface AlarmsProps {
  /** Who is told: an email subscription (confirmed by a click in the first email). */
  readonly email: string;
  /** Encrypts the topic; its policy must let cloudwatch.amazonaws.com use it (StackKey does). */
  readonly topicKey: IKey;
  /** The CloudWatch namespace the functions publish their metrics in (METRICS_NAMESPACE). */
  readonly metricsNamespace: string;
  /** Dead-letter queues by alarm id: any message in one is an alarm (R9, R10). */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /**
   * The stream's on-failure queue: capture gave up on records at their maximum age, and they
   * are gone from the stream (it keeps only their shard pointers): the CaptureFailures alarm.
   */
  readonly captureFailures: IQueue;
  /** The queue whose oldest message's age is watched (R20 lag; also grows while suspended). */
  readonly queue: IQueue;
  /** The function reading the table's stream (its IteratorAge). */
  readonly streamConsumer: IFunction;
  /**
   * Alarm when the stream's oldest unprocessed record is older than this.
   * @default Duration.minutes(1)
   */
  readonly maxIteratorAge?: Duration;
  /**
   * Alarm when the queue's oldest message is older than this.
   * @default Duration.minutes(5)
   */
  readonly maxQueuedMessageAge?: Duration;
}

/**
 * R22: CloudWatch alarms on the pipeline and the sync outcome, each with an SNS action for
 * ALARM and OK, and `treatMissingData` chosen for what an absent datapoint means for it.
 */
export class Alarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly metricsNamespace: string;
  private readonly maxIteratorAge: Duration;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.metricsNamespace = props.metricsNamespace;
    this.topic = new Topic(this, "Topic", {
      displayName: "mft-failover alarms",
      masterKey: props.topicKey,
      enforceSSL: true,
    });
    // enforceSSL gives the topic a policy of its own, which replaces SNS's default one (the
    // one that let this account's services publish): without this statement CloudWatch may
    // not publish and every alarm is silent. Only alarms of this account may.
    const stack = Stack.of(this);
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: "CloudWatchAlarmsOfThisAccountPublish",
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { "aws:SourceAccount": stack.account },
          ArnLike: {
            "aws:SourceArn": stack.formatArn({
              service: "cloudwatch",
              resource: "alarm",
              resourceName: "*",
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    this.topic.addSubscription(new EmailSubscription(props.email));
    const minute = Duration.minutes(1);

    for (const [id, queue] of Object.entries(props.deadLetterQueues)) {
      this.addDeadLetters(
        id,
        queue,
        "A dead-letter queue holds messages: changes that did not reach the failover (R9, R10). Inspect, then POST /api/failover/resume or run a full sync.",
      );
    }
    const maxAgeHours = topology.capture.stream.maximumRecordAgeSeconds / 3600;
    this.addDeadLetters(
      "CaptureFailures",
      props.captureFailures,
      `Capture gave up on stream records after retrying them for their maximum age (${maxAgeHours} h; StreamIteratorAge alarmed long before): those changes never reached the queue, and this queue holds only their shard pointers, so resume cannot bring them back. Run \`mft-failover failover verify\`, then \`failover repair\` (R21), then purge this queue.`,
    );

    this.maxIteratorAge = props.maxIteratorAge ?? Duration.minutes(1);
    this.addIteratorAge(
      "StreamIteratorAge",
      props.streamConsumer,
      "Capture is falling behind the table's stream: changes wait before they are queued (R7, R20).",
    );

    this.add("OldestQueuedMessage", {
      description: "Changes wait in the queue: forward is failing, slow or suspended (R9, R20).",
      metric: props.queue.metricApproximateAgeOfOldestMessage({
        statistic: Stats.MAXIMUM,
        period: minute,
      }),
      threshold: (props.maxQueuedMessageAge ?? Duration.minutes(5)).toSeconds(),
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // An idle, empty queue publishes nothing: no data means nothing waits.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.add("SyncFailures", {
      description: "A Failover Synchronization event reported Success: false (R9, R16).",
      metric: this.insights("SUM", "SyncFailures"),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // Published when a sync fails; nothing published means nothing failed.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.add("HeartbeatMissed", {
      description:
        "The heartbeat was not applied on the failover within two intervals (R20): the failover is unreachable or sync is stuck; see GET /api/failover/status.",
      metric: this.insights("MAX", "HeartbeatMissed"),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // The monitor publishes 0 or 1 every heartbeat, but only while the failover module and
      // automatic sync are on; a server with sync off (the failover itself, or production with
      // the module disabled) publishes nothing, and BREACHING would keep it in ALARM forever.
      // The monitor failing or not running is MonitorErrors' and MonitorNotRunning's alarm, and
      // production's whole region lost is the failover's HeartbeatAge alarm (Monitor).
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.add("Drift", {
      description: "The failover differs from production (R21): see GET /api/failover/drift.",
      metric: this.insights("MAX", "Drift"),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // Published only when a verification runs: keep the last verdict until the next one
      // instead of flapping back to OK between two checks.
      treatMissingData: TreatMissingData.IGNORE,
    });
  }

  /**
   * One more alarm with the same actions (ALARM and OK to the topic), e.g. the full-sync state
   * machine's failed executions. `treatMissingData` is required: decide what no data means.
   */
  add(id: string, props: AlarmSpec): Alarm {
    const alarm = new Alarm(this, id, {
      alarmDescription: props.description,
      metric: props.metric,
      threshold: props.threshold,
      comparisonOperator: props.comparisonOperator,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      treatMissingData: props.treatMissingData,
      actionsEnabled: true,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }

  /**
   * A function reading the table's stream falls behind: its oldest unprocessed record is older
   * than `maxIteratorAge` for three minutes.
   */
  addIteratorAge(id: string, streamConsumer: IFunction, description: string): Alarm {
    return this.add(id, {
      description,
      metric: streamConsumer.metric("IteratorAge", {
        statistic: Stats.MAXIMUM,
        period: Duration.minutes(1),
      }),
      threshold: this.maxIteratorAge.toMilliseconds(),
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // Lambda reports IteratorAge only when it invokes the function: no data means no backlog.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  /** A dead-letter or on-failure queue holds a message (what failed is kept there). */
  addDeadLetters(id: string, queue: IQueue, description: string): Alarm {
    return this.add(id, {
      description,
      metric: queue.metricApproximateNumberOfMessagesVisible({
        statistic: Stats.MAXIMUM,
        period: Duration.minutes(1),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // SQS stops publishing for an idle, empty queue: no data means nothing is held.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  /** A function's invocations failed (Errors > 0 in five minutes). */
  addErrors(id: string, fn: IFunction, description: string): Alarm {
    return this.add(id, {
      description,
      metric: fn.metricErrors({ statistic: Stats.SUM, period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // Lambda publishes Errors only for invocations: no data means nothing ran, nothing failed.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * A Metrics Insights query over the stack's whole namespace, whatever the dimensions:
   * Powertools adds a `service` dimension named after each handler, and the alarm must not
   * depend on which handler (forward, full sync, verify, trigger-actions) publishes the metric.
   * The dashboard draws the same queries, with its own period and label.
   */
  insights(
    aggregate: "SUM" | "MAX",
    metricName: string,
    period: Duration = Duration.minutes(5),
    label: string = metricName,
  ): MathExpression {
    return new MathExpression({
      expression: `SELECT ${aggregate}(${metricName}) FROM "${this.metricsNamespace}"`,
      usingMetrics: {},
      period,
      label,
    });
  }
}
