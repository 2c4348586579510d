import { Duration, Stack } from "aws-cdk-lib";
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  Stats,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { Alarms } from "./alarms.ts";

export interface OperationsDashboardProps {
  /** Its Metrics Insights queries over the stack's namespace, and the alarms whose state it shows. */
  readonly alarms: Alarms;
  /** The queue whose oldest message's age is drawn. */
  readonly queue: IQueue;
  /** Dead-letter and on-failure queues by label: their depth is drawn. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /** The function reading the table's stream (its IteratorAge: capture's backlog). */
  readonly streamConsumer: IFunction;
}

/**
 * One CloudWatch dashboard per region (every region deploys the stack; roles are a setting, so
 * each dashboard has both sides' graphs): replication lag, the oldest queued change, dead-letter
 * depth, heartbeat age and drift, next to the alarms' states. Every graph draws a metric the code
 * or an AWS service publishes; the stack tests check it, as they do for the alarms (R22).
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const { alarms } = props;
    const minute = Duration.minutes(1);
    const graph = (title: string, left: IMetric[], leftLabel: string, right: IMetric[] = []) =>
      new GraphWidget({
        title,
        left,
        right,
        leftYAxis: { label: leftLabel, min: 0, showUnits: false },
        rightYAxis: { min: 0, showUnits: false },
        width: 12,
        height: 6,
      });

    this.dashboard = new Dashboard(this, "Dashboard", {
      dashboardName: `${alarms.metricsNamespace}-${Stack.of(this).region}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      graph(
        "Replication lag (R20): production's commit to the failover's apply",
        [alarms.insights("MAX", "ReplicationLag", minute, "p99 lag of the minute (ms)")],
        "ms",
        [
          props.streamConsumer.metric("IteratorAge", {
            statistic: Stats.MAXIMUM,
            period: minute,
            label: "capture's stream backlog (ms)",
          }),
        ],
      ),
      graph(
        "Oldest queued change",
        [
          props.queue.metricApproximateAgeOfOldestMessage({
            statistic: Stats.MAXIMUM,
            period: minute,
            label: "age of the oldest queued change (s)",
          }),
        ],
        "seconds",
      ),
    );
    this.dashboard.addWidgets(
      graph(
        "Dead-letter queues (R10): changes that did not reach the failover",
        Object.entries(props.deadLetterQueues).map(([label, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({
            statistic: Stats.MAXIMUM,
            period: minute,
            label,
          }),
        ),
        "messages",
      ),
      graph(
        "Heartbeat (R20)",
        [
          alarms.insights(
            "MAX",
            "HeartbeatAge",
            minute,
            "on the failover: age of production's newest heartbeat (s)",
          ),
        ],
        "seconds",
        [alarms.insights("MAX", "HeartbeatMissed", minute, "on production: heartbeat missed (1)")],
      ),
    );
    this.dashboard.addWidgets(
      graph(
        "Drift (R21): differences automatic sync will not fix",
        [alarms.insights("MAX", "Drift", Duration.hours(1), "drift (items, hourly verify)")],
        "items",
      ),
      new AlarmStatusWidget({
        title: "Alarms (R22)",
        alarms: alarms.alarms,
        width: 12,
        height: 6,
      }),
    );
  }
}
