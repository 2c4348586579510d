import { Duration, Stack } from "aws-cdk-lib";
import { ComparisonOperator, Stats, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IEventBus } from "aws-cdk-lib/aws-events";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Schedule, ScheduleExpression, ScheduleTargetInput } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Construct } from "constructs";
import type { MonitorEvent } from "../../../functions/monitor/app.ts";
import { topology } from "../../topology.ts";
import { acknowledge, NAG, nagResource } from "../compliance.ts";
import type { Alarms } from "./alarms.ts";
import { MftFunction, type MftFunctionDefaults } from "./mft-function.ts";
import { FAILOVER_PASSWORD_SECRET, type Pipeline } from "./pipeline.ts";

export interface MonitorProps {
  /** The config table: settings and status read, the heartbeat and status records written. */
  readonly table: ITable;
  /** Where a resume by the heartbeat is announced (`Failover Synchronization`, R16). */
  readonly eventBus: IEventBus;
  /** The SecretStore prefix: the monitor reads the failover password under it (probe, verify). */
  readonly secretPrefix: string;
  /** Gives the monitor this server's addresses and what resuming sync needs (R9). */
  readonly pipeline: Pipeline;
  /** @default - MftFunction's defaults */
  readonly functionDefaults?: MftFunctionDefaults;
}

/**
 * The scheduled checks of one server (functions/monitor): two EventBridge Scheduler schedules
 * invoke one function, `{"task": "heartbeat", "intervalSeconds": …}` every heartbeat interval
 * (R20; it also resumes sync suspended by an outage once the failover answers, R9) and
 * `{"task": "verify"}` every verify interval (R21). Intervals are infra/topology.ts's, the same
 * the local runtime's timers use. The function publishes HeartbeatMissed and Drift (Alarms), and
 * on a failover HeartbeatAge.
 */
export class Monitor extends Construct {
  readonly function: MftFunction;
  readonly heartbeatSchedule: Schedule;
  readonly verifySchedule: Schedule;
  /** The role EventBridge Scheduler assumes to invoke the function (both schedules). */
  readonly schedulerRole: Role;

  constructor(scope: Construct, id: string, props: MonitorProps) {
    super(scope, id);
    const { monitor } = topology;
    const heartbeatSeconds = monitor.heartbeat.everySeconds;
    if (!Number.isInteger(heartbeatSeconds / 60) || heartbeatSeconds < 60) {
      throw new Error(
        "topology.monitor.heartbeat.everySeconds must be a whole number of minutes (60, 120, …): EventBridge Scheduler's rate is in minutes",
      );
    }

    this.function = props.pipeline
      .bindAddresses(
        new MftFunction(this, "Function", {
          ...props.functionDefaults,
          ...monitor,
          description:
            "Monitor: the scheduled heartbeat (R20, resumes sync after an outage, R9) and verify (R21)",
        }),
      )
      // Settings and status read; the heartbeat item and status records written (as admin-api).
      .bindTable(props.table, "readWrite")
      // The peer's credentials to probe and verify it; never written here.
      .bindSecretPrefix(props.secretPrefix, [FAILOVER_PASSWORD_SECRET], "read")
      // The "resumed by itself" outcome event.
      .bindEventBus(props.eventBus);
    // Resume (R9) as POST /api/failover/resume does it: forward's mapping, queue depths, DLQ
    // redrive; the same grant as admin-api's, nothing more.
    props.pipeline.grantResume(this.function);

    // One role for both schedules, so its trust and its acknowledgment live here. Scheduler
    // trusts it for this account's default schedule group only (what LambdaInvoke would create).
    const stack = Stack.of(this);
    this.schedulerRole = new Role(this, "SchedulerRole", {
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: {
          StringEquals: {
            "aws:SourceAccount": stack.account,
            "aws:SourceArn": stack.formatArn({
              service: "scheduler",
              resource: "schedule-group",
              resourceName: "default",
            }),
          },
        },
      }),
      description:
        "EventBridge Scheduler invokes the monitor function (heartbeat and verify schedules)",
    });
    acknowledge(
      this.schedulerRole,
      `${NAG}::AwsSolutions-IAM5[Resource::${nagResource(this, `${this.function.functionArn}:*`)}]`,
      {
        reason:
          "LambdaInvoke grants lambda:InvokeFunction through CDK's grantInvoke, which names the " +
          "monitor function and its versions/aliases (<function ARN>:*): that one function only.",
      },
    );

    // Scheduler's retry policy covers delivery only (it invokes asynchronously; Lambda retries
    // a failed run twice), so its defaults stay: no dead-letter queue (cdk-nag asks for none).
    const schedule = (scheduleId: string, every: Duration, input: MonitorEvent, what: string) =>
      new Schedule(this, scheduleId, {
        description: `mft-failover: ${what}`,
        schedule: ScheduleExpression.rate(every),
        target: new LambdaInvoke(this.function, {
          role: this.schedulerRole,
          input: ScheduleTargetInput.fromObject(input),
        }),
      });
    this.heartbeatSchedule = schedule(
      "Heartbeat",
      Duration.seconds(heartbeatSeconds),
      { task: "heartbeat", intervalSeconds: heartbeatSeconds },
      "the heartbeat through the pipeline to the failover (R20)",
    );
    this.verifySchedule = schedule(
      "Verify",
      Duration.minutes(monitor.verify.everyMinutes),
      { task: "verify" },
      "compare production and the failover, publish Drift (R21)",
    );
  }

  /**
   * The monitor failing or not running at all, and, on a failover, production's heartbeats no
   * longer arriving (R20, R22). Every region gets all three (roles are a setting): the last one
   * stays silent where no heartbeat is received.
   */
  addAlarms(alarms: Alarms): void {
    const heartbeatSeconds = topology.monitor.heartbeat.everySeconds;
    alarms.addErrors(
      "MonitorErrors",
      this.function,
      "The monitor failed: a heartbeat (R20) or verify (R21) did not run to the end; see its log. Status and Drift may be stale.",
    );
    alarms.add("MonitorNotRunning", {
      description:
        "The monitor was not invoked for three heartbeat intervals: its schedule is disabled or deleted, or the region's services are failing. No heartbeat, probe or verify runs, and no other alarm of this region can see that. Check the EventBridge Scheduler schedules and the function.",
      metric: this.function.metricInvocations({
        statistic: Stats.SUM,
        period: Duration.seconds(3 * heartbeatSeconds),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // Lambda publishes Invocations only when the function runs: no data is the outage itself.
      treatMissingData: TreatMissingData.BREACHING,
    });
    alarms.add("HeartbeatAge", {
      description:
        "On the failover: production's heartbeats stopped arriving for more than three intervals (R20). Production's region may be lost, or its sync is suspended or off. Check production (GET /api/failover/status there); if it is lost, take over here (POST /api/failover/takeover).",
      metric: alarms.insights("MAX", "HeartbeatAge"),
      threshold: 3 * heartbeatSeconds,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // Only a failover's monitor publishes it (production and a server nobody syncs to publish
      // nothing); this monitor not running is MonitorNotRunning's alarm.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
