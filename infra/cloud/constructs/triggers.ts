import { Duration, Stack } from "aws-cdk-lib";
import { ComparisonOperator, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type IEventBus, Rule, RuleTargetInput, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { Grant, PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { FilterCriteria, FilterRule, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import { Topic } from "aws-cdk-lib/aws-sns";
import { Queue, QueueEncryption, RedrivePermission } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { allowHostList } from "../../../shared/adapters/safe-http.ts";
import { SERVER_PARTITION, TRIGGER_PREFIX } from "../../../shared/model/items.ts";
import { topology } from "../../topology.ts";
import { acknowledge, GUARD, NAG, nagResource } from "../compliance.ts";
import type { Alarms } from "./alarms.ts";
import { MftFunction, type MftFunctionDefaults } from "./mft-function.ts";

/** The default start of every trigger rule's name (functions/trigger-rules reads the same default). */
export const DEFAULT_TRIGGER_RULE_PREFIX = "mft-trigger-";

/** What functions/trigger-rules/rules.ts accepts as a rule name prefix. */
const RULE_PREFIX = /^[.\-_A-Za-z0-9]{1,32}$/;

/** Failure queues keep what they hold for SQS's maximum, as the pipeline's do. */
const FAILURE_RETENTION = Duration.days(14);

export interface TriggersProps {
  /** The config table: triggers are read from it, and its stream feeds trigger-rules. */
  readonly table: ITable;
  /** The bus the `Failover Synchronization` events go to; each trigger is one rule on it. */
  readonly eventBus: IEventBus;
  /** Encrypts the SNS mail topic (when there is one): the stack key. */
  readonly topicKey: IKey;
  /** The CloudWatch namespace trigger-actions publishes TriggerActionsFailed in. */
  readonly metricsNamespace: string;
  /**
   * This server's id (SERVER_ID).
   * @default - the stack's region
   */
  readonly serverId?: string;
  /**
   * Send Email through SES from this address (its address or domain a verified identity).
   * @default - through an SNS topic this construct creates (`mailTopic`)
   */
  readonly mailFrom?: string;
  /**
   * The SES configuration set to send with (only with `mailFrom`).
   * @default - none
   */
  readonly sesConfigurationSet?: string;
  /**
   * Start of every trigger rule's name: 1-32 letters, digits, '.', '-', '_'. Must be unique per
   * stack if stacks ever share a bus (each stack here has a bus of its own).
   * @default DEFAULT_TRIGGER_RULE_PREFIX
   */
  readonly rulePrefix?: string;
  /**
   * Hosts HTTP actions may reach even at a loopback, link-local, private or shared address
   * (host names or IP literals, matched exactly; trigger-actions' HTTP_ALLOW_HOSTS).
   * @default - none: HTTP actions reach public addresses only
   */
  readonly httpAllowHosts?: readonly string[];
  /** @default - MftFunction's defaults */
  readonly functionDefaults?: MftFunctionDefaults;
}

/**
 * Triggers in the cloud (R17). `trigger-rules` keeps one EventBridge rule per enabled trigger on
 * the bus, fed by the config table's stream (SERVER / TRIGGER#… keys) and an hourly
 * `{"reconcile": true}`; each rule's one target is `trigger-actions`, which runs the trigger's
 * Send Email (SES or SNS) and HTTP actions. The rules are made at run time, so every permission
 * that concerns them names the rule-name pattern `rule/<bus>/<prefix>*`.
 */
export class Triggers extends Construct {
  readonly rules: MftFunction;
  readonly actions: MftFunction;
  /** The rule that runs `{"reconcile": true}` on a schedule. */
  readonly reconcileSchedule: Rule;
  /** Where Lambda puts an async invocation of trigger-actions that failed all its retries. */
  readonly actionsFailures: Queue;
  /** The stream's on-failure destination for trigger-rules' batches. */
  readonly rulesFailures: Queue;
  /** The trigger rules' target dead-letter queue (TRIGGER_DLQ_ARN): events EventBridge could not deliver. */
  readonly deadLetters: Queue;
  /** The Send Email topic when there is no `mailFrom` (subscriptions: docs/cloud.md). */
  readonly mailTopic?: Topic;
  readonly rulePrefix: string;
  /** `arn:<partition>:events:<region>:<account>:rule/<bus>/<prefix>*`: every trigger rule. */
  readonly ruleArnPattern: string;

  constructor(scope: Construct, id: string, props: TriggersProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { triggerRules, triggerActions } = topology;
    const serverId = props.serverId ?? stack.region;
    this.rulePrefix = props.rulePrefix ?? DEFAULT_TRIGGER_RULE_PREFIX;
    if (!RULE_PREFIX.test(this.rulePrefix)) {
      throw new Error("Triggers: rulePrefix must be 1-32 of letters, digits, '.', '-', '_'");
    }
    if (props.sesConfigurationSet && !props.mailFrom) {
      throw new Error("Triggers: sesConfigurationSet needs mailFrom (it applies to SES only)");
    }
    const allowHosts = allowHostList.safeParse(props.httpAllowHosts ?? []);
    if (!allowHosts.success) {
      throw new Error(
        "Triggers: httpAllowHosts must be host names or IP literals (no scheme, port or path), at most 100",
      );
    }
    this.ruleArnPattern = stack.formatArn({
      service: "events",
      resource: "rule",
      resourceName: `${props.eventBus.eventBusName}/${this.rulePrefix}*`,
    });

    const failureQueue = (queueId: string, what: string) => {
      const queue = new Queue(this, queueId, {
        retentionPeriod: FAILURE_RETENTION,
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        // Marks it as a dead-letter queue (CT.SQS.PR.1), as the pipeline's CaptureFailures.
        redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
      });
      acknowledge(queue, `${NAG}::AwsSolutions-SQS3`, {
        reason: `This queue is itself a dead-letter destination: ${what}; it has no DLQ of its own.`,
      });
      return queue;
    };
    this.actionsFailures = failureQueue(
      "ActionsFailures",
      "the on-failure destination of trigger-actions' async invocations (after Lambda's retries)",
    );
    this.rulesFailures = failureQueue(
      "RulesFailures",
      "the on-failure destination of trigger-rules' stream event source (after its retries)",
    );
    this.deadLetters = failureQueue(
      "DeadLetters",
      "the dead-letter queue of every trigger rule's target (events EventBridge could not deliver)",
    );
    // EventBridge puts undeliverable events here, for this stack's trigger rules only.
    this.deadLetters.addToResourcePolicy(
      new PolicyStatement({
        sid: "TriggerRulesDeadLetters",
        principals: [new ServicePrincipal("events.amazonaws.com")],
        actions: ["sqs:SendMessage"],
        resources: [this.deadLetters.queueArn],
        conditions: { ArnLike: { "aws:SourceArn": this.ruleArnPattern } },
      }),
    );

    // --- trigger-actions: the target of every trigger rule.
    this.actions = new MftFunction(this, "TriggerActions", {
      ...props.functionDefaults,
      ...triggerActions,
      description: "Trigger actions: a trigger rule's event → Send Email / HTTP request (R17)",
    })
      .bindServerId(serverId)
      .bindEnv("METRICS_NAMESPACE", props.metricsNamespace)
      // Loads the trigger (GetItem); nothing else in the table.
      .bindTable(props.table, "lookup");
    if (allowHosts.data.length > 0) {
      this.actions.bindEnv("HTTP_ALLOW_HOSTS", allowHosts.data.join(","));
    }
    if (props.mailFrom) {
      const domain = props.mailFrom.slice(props.mailFrom.lastIndexOf("@") + 1);
      const sesArn = (resource: string, resourceName: string) =>
        stack.formatArn({ service: "ses", resource, resourceName });
      // SES authorizes against the identity it sends as: the address if it is verified itself,
      // otherwise its domain; so both, and the configuration set when there is one.
      const resourceArns = [
        sesArn("identity", props.mailFrom),
        sesArn("identity", domain),
        ...(props.sesConfigurationSet
          ? [sesArn("configuration-set", props.sesConfigurationSet)]
          : []),
      ];
      this.actions.bindEnv("MAIL_FROM", props.mailFrom, (grantee) =>
        Grant.addToPrincipal({ grantee, actions: ["ses:SendEmail"], resourceArns }),
      );
      if (props.sesConfigurationSet) {
        this.actions.bindEnv("SES_CONFIGURATION_SET", props.sesConfigurationSet);
      }
    } else {
      const topic = new Topic(this, "MailTopic", {
        displayName: "mft-failover",
        masterKey: props.topicKey,
        enforceSSL: true,
      });
      this.mailTopic = topic;
      // sns:Publish on this topic, and its key for that (grantPublish would add GenerateDataKey*).
      this.actions.bindEnv("MAIL_TOPIC_ARN", topic.topicArn, (grantee) =>
        Grant.addToPrincipal({
          grantee,
          actions: ["sns:Publish"],
          resourceArns: [topic.topicArn],
        }).combine(props.topicKey.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt")),
      );
    }
    // Only EventBridge, and only for this stack's trigger rules, may invoke it.
    this.actions.addPermission("InvokeFromTriggerRules", {
      principal: new ServicePrincipal("events.amazonaws.com"),
      sourceArn: this.ruleArnPattern,
    });
    this.actions.configureAsyncInvoke({
      retryAttempts: triggerActions.asyncRetryAttempts,
      onFailure: new SqsDestination(this.actionsFailures),
    });
    acknowledge(this.actions, `${GUARD}::lambda_function_public_access_prohibited_check`, {
      reason:
        "CT.LAMBDA.PR.2: the only invoke permission is for events.amazonaws.com with SourceArn " +
        "rule/<bus>/<prefix>* of this account (an Fn::Join the guard rule cannot evaluate offline).",
    });

    // --- trigger-rules: keeps one rule per enabled trigger.
    const { stream } = triggerRules;
    this.rules = new MftFunction(this, "TriggerRules", {
      ...props.functionDefaults,
      ...triggerRules,
      description: "Trigger rules: config table stream → one EventBridge rule per trigger (R17)",
    })
      .bindServerId(serverId)
      // Reads triggers (get, and list on reconcile); the stream grant comes with the event source.
      .bindTable(props.table, "lookup")
      // A name only: it manages rules on the bus, it never puts events (no bindEventBus).
      .bindEnv("EVENT_BUS_NAME", props.eventBus.eventBusName)
      // A target's ARN only: EventBridge invokes it (the permission above), no iam:PassRole.
      .bindEnv("TRIGGER_ACTIONS_FUNCTION_ARN", this.actions.functionArn)
      .bindEnv("TRIGGER_RULE_PREFIX", this.rulePrefix)
      .bindQueue("TRIGGER_DLQ_ARN", this.deadLetters, undefined, "arn");
    this.rules.addToRolePolicy(
      new PolicyStatement({
        actions: [
          "events:PutRule",
          "events:PutTargets",
          "events:RemoveTargets",
          "events:DeleteRule",
        ],
        resources: [this.ruleArnPattern],
      }),
    );
    this.rules.addToRolePolicy(
      new PolicyStatement({ actions: ["events:ListRules"], resources: ["*"] }),
    );
    acknowledge(this.rules.executionRole, `${NAG}::AwsSolutions-IAM5[Resource::*]`, {
      reason:
        "events:ListRules (reconcile lists the rules by name prefix) and dynamodb:ListStreams " +
        "(added by CDK's DynamoEventSource) have no resource-level permissions; every other " +
        "statement names its resource.",
    });
    acknowledge(
      this.rules.executionRole,
      `${NAG}::AwsSolutions-IAM5[Resource::${nagResource(this, this.ruleArnPattern)}]`,
      {
        reason:
          "Trigger rules are created at run time, one per trigger (mft-trigger-<id>), so " +
          "Put/Delete rule and targets are granted on this stack's rule-name prefix on its own " +
          "bus only: the rules of nothing else.",
      },
    );
    // The stream's second consumer after capture: DynamoDB serves at most two per shard, so a
    // third would be throttled (test/infra asserts two).
    this.rules.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition[stream.startingPosition],
        batchSize: stream.batchSize,
        bisectBatchOnError: stream.bisectBatchOnFunctionError,
        retryAttempts: stream.maximumRetryAttempts,
        maxRecordAge: Duration.seconds(stream.maximumRecordAgeSeconds),
        reportBatchItemFailures: stream.reportBatchItemFailures,
        onFailure: new SqsDlq(this.rulesFailures),
        filters: [
          FilterCriteria.filter({
            dynamodb: {
              Keys: {
                pk: { S: FilterRule.isEqual(SERVER_PARTITION) },
                sk: { S: FilterRule.beginsWith(TRIGGER_PREFIX) },
              },
            },
          }),
        ],
      }),
    );

    // Lost stream records (over 24 h, or a restore) still end in the right rules within the hour.
    this.reconcileSchedule = new Rule(this, "Reconcile", {
      description: "mft-failover: make every trigger rule match the triggers ({reconcile: true})",
      schedule: Schedule.rate(Duration.hours(triggerRules.reconcileEveryHours)),
      targets: [
        new LambdaFunction(this.rules, {
          event: RuleTargetInput.fromObject({ reconcile: true }),
          retryAttempts: 2,
        }),
      ],
    });
  }

  /**
   * R22 for triggers: failed actions, failed invocations, trigger-rules falling behind, and
   * anything kept in a failure queue (each would otherwise wait there unseen for 14 days).
   */
  addAlarms(alarms: Alarms): void {
    alarms.add("TriggerActionsFailed", {
      description: `A trigger's Send Email or HTTP action failed after its retries (R17): see trigger-actions' log ("trigger actions failed"); ${alarms.metricsNamespace}/TriggerActionsFailed.`,
      metric: alarms.insights("SUM", "TriggerActionsFailed"),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // Published on every trigger run (0 when all succeeded); no run means nothing failed.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarms.addErrors(
      "TriggerActionsErrors",
      this.actions,
      "trigger-actions failed (cannot read the trigger, bad input): after 2 retries the event is in its on-failure queue.",
    );
    alarms.addErrors(
      "TriggerRulesErrors",
      this.rules,
      "trigger-rules failed: a trigger's EventBridge rule may be stale until a retry or the hourly reconcile succeeds.",
    );
    alarms.addIteratorAge(
      "TriggerRulesIteratorAge",
      this.rules,
      "trigger-rules is falling behind the table's stream: trigger changes are not yet rules (R17).",
    );
    alarms.addDeadLetters(
      "TriggerRulesFailures",
      this.rulesFailures,
      "Trigger changes that trigger-rules gave up on are in its on-failure queue: their EventBridge rules are stale until the hourly reconcile succeeds (R17).",
    );
    alarms.addDeadLetters(
      "TriggerActionsFailures",
      this.actionsFailures,
      "Events that trigger-actions could not handle after Lambda's retries are in its on-failure queue: their actions did not run (R17).",
    );
    alarms.addDeadLetters(
      "TriggerDeliveryFailures",
      this.deadLetters,
      "Events that EventBridge could not deliver to a trigger's target are in the trigger dead-letter queue: their actions did not run (R17).",
    );
  }
}
