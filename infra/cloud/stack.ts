import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { topology } from "../topology.ts";
import { acknowledge, NAG } from "./compliance.ts";
import { Alarms } from "./constructs/alarms.ts";
import { Api } from "./constructs/api.ts";
import { OperationsDashboard } from "./constructs/dashboard.ts";
import { Events } from "./constructs/events.ts";
import { FAILBACK_PRODUCTION_PASSWORD_SECRET, Failback } from "./constructs/failback.ts";
import { FullSync } from "./constructs/full-sync.ts";
import { MftFunction, type MftFunctionDefaults } from "./constructs/mft-function.ts";
import { Monitor } from "./constructs/monitor.ts";
import { FAILOVER_PASSWORD_SECRET, Pipeline } from "./constructs/pipeline.ts";
import { StackKey } from "./constructs/stack-key.ts";
import { Store } from "./constructs/store.ts";
import { Triggers } from "./constructs/triggers.ts";

export interface MftFailoverStackProps extends StackProps {
  /** Who the alarms email. */
  readonly alarmEmail: string;
  /**
   * What names this deployment among others in the account and region (the config's
   * stackPrefix): its secrets are under `${stackPrefix}/` and its metrics in the namespace
   * `${stackPrefix}`, so two deployments side by side share neither.
   * @default "MftFailover"
   */
  readonly stackPrefix?: string;
  /**
   * How long history keeps a configuration change (R26), in days.
   * @default 7
   */
  readonly historyRetentionDays?: number;
  /**
   * Trigger emails (R17) through SES from this verified identity.
   * @default - through an SNS topic the stack creates (output MailTopicArn)
   */
  readonly mailFrom?: string;
  /** @default - none (only with mailFrom) */
  readonly sesConfigurationSet?: string;
  /**
   * Hosts trigger HTTP actions may reach at a non-public address (trigger-actions' HTTP_ALLOW_HOSTS).
   * @default - none
   */
  readonly httpAllowHosts?: readonly string[];
  /** @default - MftFunction's defaults, with the stack's KMS key for the log groups */
  readonly functionDefaults?: Omit<MftFunctionDefaults, "logKey">;
}

/**
 * One server of the pair: every region deploys this same stack, and whether it acts as
 * production or failover is a setting (its failover settings), because roles swap on failback
 * (R19). The server id is the region name.
 *
 * The full sync (R11–R15) is the FullSync state machine, running fullSyncDefinition(); the
 * admin API starts it (STATE_MACHINE_ARN, states:StartExecution on it only). The failback (R19)
 * is the Failback state machine, running failbackDefinition(), started the same way
 * (FAILBACK_STATE_MACHINE_ARN).
 */
export class MftFailoverStack extends Stack {
  readonly key: StackKey;
  readonly store: Store;
  readonly events: Events;
  readonly pipeline: Pipeline;
  readonly adminApi: MftFunction;
  readonly adminSecret: Secret;
  readonly api: Api;
  readonly alarms: Alarms;
  readonly triggers: Triggers;
  readonly fullSync: FullSync;
  readonly failback: Failback;
  readonly monitor: Monitor;
  readonly dashboard: OperationsDashboard;
  readonly functionDefaults: MftFunctionDefaults;

  constructor(scope: Construct, id: string, props: MftFailoverStackProps) {
    super(scope, id, props);
    const serverId = this.region;
    const stackPrefix = props.stackPrefix ?? "MftFailover";
    const secretPrefix = `${stackPrefix}/`;
    const metricsNamespace = stackPrefix;

    this.key = new StackKey(this, "Key");
    this.functionDefaults = { ...props.functionDefaults, logKey: this.key.key };
    this.store = new Store(this, "Store", {
      ...(props.historyRetentionDays ? { historyDays: props.historyRetentionDays } : {}),
    });
    this.events = new Events(this, "Events");
    this.pipeline = new Pipeline(this, "Pipeline", {
      table: this.store.table,
      eventBus: this.events.bus,
      secretPrefix,
      metricsNamespace,
      serverId,
      functionDefaults: this.functionDefaults,
    });

    this.adminSecret = new Secret(this, "AdminSecret", {
      description: `mft-failover admin credentials of ${serverId} (Basic auth on the admin API)`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: "admin" }),
        generateStringKey: "password",
        passwordLength: 32,
        // Letters and digits only: the password goes into shells, URLs and the peer's settings.
        excludePunctuation: true,
      },
    });
    acknowledge(this.adminSecret, `${NAG}::AwsSolutions-SMG4`, {
      reason:
        "Not rotated automatically: the peer server stores this password in its failover settings " +
        "(R5), so a rotation must update the peer in the same step; it is an operator procedure " +
        "(docs/cloud.md), not a rotation Lambda.",
    });

    this.adminApi = this.pipeline
      .bindAddresses(
        new MftFunction(this, "AdminApi", {
          ...this.functionDefaults,
          ...topology.adminApi,
          description: "The admin API of SPEC §8 and the receiving side /api/sync",
        }),
      )
      .bindTable(this.store.table, "apply")
      .bindSecret("ADMIN_SECRET_ID", this.adminSecret)
      // The failover password (PUT /api/failover) and production's password for a failback
      // (POST /api/failover/failback), both written here.
      .bindSecretPrefix(
        secretPrefix,
        [FAILOVER_PASSWORD_SECRET, FAILBACK_PRODUCTION_PASSWORD_SECRET],
        "readWrite",
      )
      .bindEventBus(this.events.bus);
    // Resume (R9) and the status (R20): forward's mapping, queue depths, DLQ redrive.
    this.pipeline.grantResume(this.adminApi);

    this.fullSync = new FullSync(this, "FullSync", {
      table: this.store.table,
      eventBus: this.events.bus,
      secretPrefix,
      pipeline: this.pipeline,
      functionDefaults: this.functionDefaults,
    });
    // POST /api/failover/synchronize starts an execution (StepFunctionsRunner: StartExecution only).
    const stateMachine = this.fullSync.stateMachine;
    this.adminApi.bindEnv("STATE_MACHINE_ARN", stateMachine.stateMachineArn, (grantee) =>
      stateMachine.grantStartExecution(grantee),
    );

    // The failback (R19): POST /api/failover/failback starts an execution (a resumed run is a
    // new execution of the same failbackId), StartExecution only.
    this.failback = new Failback(this, "Failback", {
      table: this.store.table,
      eventBus: this.events.bus,
      secretPrefix,
      pipeline: this.pipeline,
      functionDefaults: this.functionDefaults,
    });
    const failbackMachine = this.failback.stateMachine;
    this.adminApi.bindEnv(
      "FAILBACK_STATE_MACHINE_ARN",
      failbackMachine.stateMachineArn,
      (grantee) => failbackMachine.grantStartExecution(grantee),
    );

    // The heartbeat (R20) and verify (R21) schedules.
    this.monitor = new Monitor(this, "Monitor", {
      table: this.store.table,
      eventBus: this.events.bus,
      secretPrefix,
      pipeline: this.pipeline,
      functionDefaults: this.functionDefaults,
    });

    this.api = new Api(this, "Api", {
      handler: this.adminApi,
      adminSecret: this.adminSecret,
      functionDefaults: this.functionDefaults,
    });

    this.alarms = new Alarms(this, "Alarms", {
      email: props.alarmEmail,
      topicKey: this.key.key,
      metricsNamespace,
      deadLetterQueues: { ForwardDeadLetters: this.pipeline.deadLetterQueue },
      captureFailures: this.pipeline.captureFailures,
      queue: this.pipeline.queue,
      streamConsumer: this.pipeline.capture,
    });

    this.triggers = new Triggers(this, "Triggers", {
      table: this.store.table,
      eventBus: this.events.bus,
      topicKey: this.key.key,
      metricsNamespace,
      serverId,
      ...(props.mailFrom ? { mailFrom: props.mailFrom } : {}),
      ...(props.sesConfigurationSet ? { sesConfigurationSet: props.sesConfigurationSet } : {}),
      ...(props.httpAllowHosts ? { httpAllowHosts: props.httpAllowHosts } : {}),
      functionDefaults: this.functionDefaults,
    });
    // History (R26): every function running the server's services names the history table;
    // capture records every stored change in it, the admin API reads it (look and rewind).
    this.store.bindHistory(this.pipeline.capture, "record");
    this.store.bindHistory(this.adminApi, "read");
    for (const fn of [
      this.pipeline.forward,
      this.fullSync.task,
      this.failback.task,
      this.monitor.function,
    ])
      this.store.bindHistory(fn, "none");
    this.triggers.addAlarms(this.alarms);
    this.fullSync.addAlarms(this.alarms);
    this.failback.addAlarms(this.alarms);
    this.monitor.addAlarms(this.alarms);
    // After every alarm is added: the dashboard shows their states.
    this.dashboard = new OperationsDashboard(this, "Operations", {
      alarms: this.alarms,
      queue: this.pipeline.queue,
      deadLetterQueues: {
        "forward's dead letters": this.pipeline.deadLetterQueue,
        "capture's failures": this.pipeline.captureFailures,
      },
      streamConsumer: this.pipeline.capture,
    });

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output("ApiUrl", this.api.url, "This server's admin API; the peer's failover host is its host");
    output(
      "AdminSecretArn",
      this.adminSecret.secretArn,
      "Admin credentials: JSON {username, password}",
    );
    output("ServerId", serverId, "This server's id (SERVER_ID): the region name");
    output("TableName", this.store.table.tableName, "The configuration table");
    output("HistoryTableName", this.store.historyTable.tableName, "Every stored change (R26)");
    output("EventBusName", this.events.bus.eventBusName, "Failover Synchronization events (R16)");
    output(
      "FullSyncStateMachineArn",
      stateMachine.stateMachineArn,
      "The full sync (Synchronize State); started by POST /api/failover/synchronize",
    );
    output(
      "FailbackStateMachineArn",
      failbackMachine.stateMachineArn,
      "The failback (R19); started by POST /api/failover/failback",
    );
    output("AlarmTopicArn", this.alarms.topic.topicArn, "Where the R22 alarms go");
    output(
      "TriggerRulesFunctionName",
      this.triggers.rules.functionName,
      'Invoke with {"reconcile": true} once after deploy: every trigger rule made to match the triggers',
    );
    if (this.triggers.mailTopic) {
      output(
        "MailTopicArn",
        this.triggers.mailTopic.topicArn,
        'Trigger emails: subscribe each address with the filter policy {"to": ["<address>"]}',
      );
    }
  }
}
