import { Duration, Stack } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IEventBus } from "aws-cdk-lib/aws-events";
import { Grant, type IGrantable, Policy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { FilterCriteria, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq, SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import {
  DeduplicationScope,
  FifoThroughputLimit,
  Queue,
  QueueEncryption,
  RedrivePermission,
} from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { captureFilter } from "../../../shared/sync/capture.ts";
import { topology } from "../../topology.ts";
import { acknowledge, NAG } from "../compliance.ts";
import { MftFunction, type MftFunctionDefaults } from "./mft-function.ts";

/** The name under the SecretStore prefix that holds the failover password (R4). */
export const FAILOVER_PASSWORD_SECRET = "failover-password";

const LIST_MAPPINGS_REASON =
  "lambda:ListEventSourceMappings has no resource-level permissions (it is how forward's " +
  "mapping UUID is found); GetEventSourceMapping/UpdateEventSourceMapping name that one mapping.";

export type ServerAddress =
  | "SERVER_ID"
  | "SECRET_PREFIX"
  | "METRICS_NAMESPACE"
  | "QUEUE_URL"
  | "QUEUE_ARN"
  | "DLQ_URL"
  | "DLQ_ARN"
  | "EVENT_BUS_NAME"
  | "FORWARD_FUNCTION_NAME";

export interface PipelineProps {
  /** The config table; its stream feeds capture. */
  readonly table: ITable;
  /** Where forward publishes `Failover Synchronization` events (R16). */
  readonly eventBus: IEventBus;
  /** The SecretStore's Secrets Manager name prefix (forward reads the failover password). */
  readonly secretPrefix: string;
  /** The CloudWatch namespace the functions publish their metrics in (the alarms watch it). */
  readonly metricsNamespace: string;
  /**
   * This server's id (SERVER_ID), the origin of its changes.
   * @default - the stack's region
   */
  readonly serverId?: string;
  /** @default - MftFunction's defaults */
  readonly functionDefaults?: MftFunctionDefaults;
}

/**
 * R7–R10: stream → capture → FIFO queue (domains hashed into message groups, DLQ) → forward → the
 * failover's `/api/sync/events`. Sizes, retries and timeouts are infra/topology.ts's, the same
 * numbers the local runtime plays.
 */
export class Pipeline extends Construct {
  readonly capture: MftFunction;
  readonly forward: MftFunction;
  /** The FIFO queue between capture and forward. */
  readonly queue: Queue;
  /** Where a change lands after `maxReceiveCount` failed forwards (R9, R10). */
  readonly deadLetterQueue: Queue;
  /** The stream's on-failure destination: batches capture could not handle within its retries. */
  readonly captureFailures: Queue;
  /** forward's SQS event source; disabling it suspends automatic sync (R9). */
  readonly forwardSourceMappingArn: string;
  /** This server's addresses, the environment every function of the stack gets. */
  readonly addresses: Readonly<Record<ServerAddress, string>>;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    const { capture, forward } = topology;
    const retention = Duration.days(forward.queue.retentionDays);
    const serverId = props.serverId ?? Stack.of(this).region;

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      fifo: true,
      contentBasedDeduplication: false,
      retentionPeriod: retention,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Explicitly a DLQ: redrive back to the queue (POST /api/failover/resume) is allowed.
      redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
    });
    this.queue = new Queue(this, "Queue", {
      fifo: true,
      // The capture sets MessageDeduplicationId = the stream record's event id (R8).
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(forward.queue.visibilityTimeoutSeconds),
      retentionPeriod: retention,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: forward.queue.maxReceiveCount,
      },
    });
    this.captureFailures = new Queue(this, "CaptureFailures", {
      retentionPeriod: retention,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
    });
    acknowledge(this.captureFailures, `${NAG}::AwsSolutions-SQS3`, {
      reason:
        "This queue is itself a dead-letter destination: the stream event source's on-failure " +
        "destination (records capture could not handle within its retries), watched by an alarm.",
    });
    if (forward.timeoutSeconds * 6 > forward.queue.visibilityTimeoutSeconds) {
      throw new Error(
        "topology.forward.queue.visibilityTimeoutSeconds must be ≥ 6 × forward.timeoutSeconds",
      );
    }

    // Forward's name is fixed up front: its own environment names it (FORWARD_FUNCTION_NAME),
    // and a function cannot reference its own generated name.
    const forwardName = `${Stack.of(this).stackName}-Forward`;
    if (forwardName.length > 64) {
      throw new Error(`function name ${forwardName} is over 64 characters: shorten stackPrefix`);
    }
    this.addresses = {
      SERVER_ID: serverId,
      SECRET_PREFIX: props.secretPrefix,
      METRICS_NAMESPACE: props.metricsNamespace,
      QUEUE_URL: this.queue.queueUrl,
      // The ARNs from the stack, not rebuilt from a URL in code: an ARN's partition (aws,
      // aws-cn, aws-us-gov) is not in the URL (the DLQ redrive and the mapping lookup use them).
      QUEUE_ARN: this.queue.queueArn,
      DLQ_URL: this.deadLetterQueue.queueUrl,
      DLQ_ARN: this.deadLetterQueue.queueArn,
      EVENT_BUS_NAME: props.eventBus.eventBusName,
      FORWARD_FUNCTION_NAME: forwardName,
    };
    const addresses = (fn: MftFunction) => this.bindAddresses(fn);

    this.capture = addresses(
      new MftFunction(this, "Capture", {
        ...props.functionDefaults,
        ...capture,
        description: "DynamoDB stream → FIFO queue: a domain's changes packed per message (R7, R8)",
      }),
    )
      // Reads the failover settings (enabled, autoSync) and sends to the queue; nothing else.
      .bindTable(props.table, "read")
      .bindQueue("QUEUE_URL", this.queue, "send");
    acknowledge(this.capture.executionRole, `${NAG}::AwsSolutions-IAM5[Resource::*]`, {
      reason:
        "dynamodb:ListStreams (added by CDK's DynamoEventSource) has no resource-level " +
        "permissions; reading the stream itself is granted on this table's stream ARN only.",
    });
    this.capture.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition[capture.stream.startingPosition],
        batchSize: capture.stream.batchSize,
        maxBatchingWindow: Duration.seconds(capture.stream.maximumBatchingWindowSeconds),
        bisectBatchOnError: capture.stream.bisectBatchOnFunctionError,
        retryAttempts: capture.stream.maximumRetryAttempts,
        maxRecordAge: Duration.seconds(capture.stream.maximumRecordAgeSeconds),
        reportBatchItemFailures: capture.stream.reportBatchItemFailures,
        onFailure: new SqsDlq(this.captureFailures),
        // Only replicated items written by this server (R3, R18), as the local poller filters.
        filters: [FilterCriteria.filter(captureFilter)],
      }),
    );

    this.forward = addresses(
      new MftFunction(this, "Forward", {
        ...props.functionDefaults,
        ...forward,
        functionName: forwardName,
        description: "FIFO queue → the failover's /api/sync/events (R7–R9)",
      }),
    )
      // Reads settings, writes sync status; reads the failover password; publishes the
      // outcome; parks a rejected change in the DLQ with its reason (R10). Receiving, deleting
      // and releasing (visibility 0) messages is granted by the event source.
      .bindTable(props.table, "readWrite")
      .bindSecretPrefix(props.secretPrefix, [FAILOVER_PASSWORD_SECRET], "read")
      .bindEventBus(props.eventBus)
      .bindQueue("DLQ_URL", this.deadLetterQueue, "send");
    const source = new SqsEventSource(this.queue, {
      batchSize: forward.source.batchSize,
      reportBatchItemFailures: forward.source.reportBatchItemFailures,
      // Bounded: a FIFO source otherwise scales with the message groups (topology explains the size).
      maxConcurrency: forward.source.maxConcurrency,
    });
    this.forward.addEventSource(source);
    this.forwardSourceMappingArn = source.eventSourceMappingArn;

    // forward suspends itself by disabling its own event source mapping (R9). A separate policy:
    // the function's default policy may not name the mapping, which depends on the function.
    new Policy(this, "ForwardSuspendPolicy", {
      roles: [this.forward.executionRole],
      statements: this.mappingControl().map((statement) => new PolicyStatement(statement)),
    });
    acknowledge(this, `${NAG}::AwsSolutions-IAM5[Resource::*]`, { reason: LIST_MAPPINGS_REASON });
  }

  /**
   * Sets this server's addresses in a function's environment (functions/cloud.ts reads them
   * all at cold start). Addresses only: what the function may do with each is granted by its
   * own bind* calls, so a function holds names it is not allowed to call.
   */
  bindAddresses(fn: MftFunction): MftFunction {
    for (const [name, value] of Object.entries(this.addresses)) fn.bindEnv(name, value);
    return fn;
  }

  /** Find (list) and enable/disable forward's event source mapping; nothing else in Lambda. */
  private mappingControl(): { actions: string[]; resources: string[] }[] {
    return [
      { actions: ["lambda:ListEventSourceMappings"], resources: ["*"] },
      {
        actions: ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
        resources: [this.forwardSourceMappingArn],
      },
    ];
  }

  /**
   * What the admin API needs for POST /api/failover/resume and the status (R9, R20): re-enable
   * forward's mapping, read both queues' depth and age, and redrive the DLQ into the queue
   * (an SQS message move task: start/list/cancel and receive/delete on the DLQ, send to the queue).
   */
  grantResume(grantee: IGrantable): Grant[] {
    const principal = grantee.grantPrincipal;
    if (principal instanceof Construct) {
      acknowledge(principal, `${NAG}::AwsSolutions-IAM5[Resource::*]`, {
        reason: LIST_MAPPINGS_REASON,
      });
    }
    return [
      ...this.mappingControl().map(({ actions, resources }) =>
        Grant.addToPrincipal({ grantee, actions, resourceArns: resources }),
      ),
      // ChangeMessageVisibility: resume hands out what suspension put aside (R9).
      this.queue.grant(
        grantee,
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
        "sqs:ChangeMessageVisibility",
      ),
      this.deadLetterQueue.grant(
        grantee,
        "sqs:GetQueueAttributes",
        "sqs:StartMessageMoveTask",
        "sqs:ListMessageMoveTasks",
        "sqs:CancelMessageMoveTask",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
      ),
    ];
  }
}
