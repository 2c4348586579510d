import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SQSClient } from "@aws-sdk/client-sqs";
import { z } from "zod";
import { DynamoBulkStore } from "../shared/adapters/dynamo-bulk-store.ts";
import { DynamoConfigStore } from "../shared/adapters/dynamo-config-store.ts";
import { DynamoHistoryStore } from "../shared/adapters/dynamo-history-store.ts";
import { EventBridgePublisher } from "../shared/adapters/eventbridge-publisher.ts";
import { LambdaForwardSwitch } from "../shared/adapters/lambda-forward-switch.ts";
import { PowertoolsMetricSink } from "../shared/adapters/powertools-metric-sink.ts";
import { SecretsManagerSecretStore } from "../shared/adapters/secrets-manager-secret-store.ts";
import { SqsChangeQueue } from "../shared/adapters/sqs-change-queue.ts";
import { StepFunctionsRunner } from "../shared/adapters/step-functions-runner.ts";
import { readEnv } from "./env.ts";
import { serverServices } from "./server.ts";

/**
 * One server's use cases on AWS, from the environment every function of the stack gets
 * (clients are created once per container; a function only calls the ones it was granted).
 */
export function cloudServices() {
  const env = readEnv({
    AWS_REGION: z.string().min(1),
    TABLE_NAME: z.string().min(1),
    /** The history table (R26) and how many days it keeps a change. */
    HISTORY_TABLE_NAME: z.string().min(1),
    HISTORY_DAYS: z.coerce.number().int().min(1).max(365),
    SERVER_ID: z.string().min(1),
    SECRET_PREFIX: z.string().min(1),
    /** The stack's CloudWatch namespace, which its alarms watch. */
    METRICS_NAMESPACE: z.string().min(1),
    QUEUE_URL: z.url(),
    DLQ_URL: z.url(),
    /** From the stack, not built here: ARNs differ by partition (aws, aws-cn, aws-us-gov). */
    QUEUE_ARN: z.string().startsWith("arn:"),
    DLQ_ARN: z.string().startsWith("arn:"),
    EVENT_BUS_NAME: z.string().min(1),
    FORWARD_FUNCTION_NAME: z.string().min(1),
    /** The full-sync state machine; only the admin API (which starts it) gets it. */
    STATE_MACHINE_ARN: z.string().min(1).optional(),
    /** The failback state machine (R19); only the admin API (which starts it) gets it. */
    FAILBACK_STATE_MACHINE_ARN: z.string().min(1).optional(),
  });
  const secretsClient = new SecretsManagerClient({});
  const dynamoClient = new DynamoDBClient({});
  const services = serverServices({
    serverId: env.SERVER_ID,
    store: new DynamoConfigStore(dynamoClient, env.TABLE_NAME),
    bulk: new DynamoBulkStore(dynamoClient, env.TABLE_NAME),
    history: new DynamoHistoryStore(dynamoClient, env.HISTORY_TABLE_NAME),
    historyDays: env.HISTORY_DAYS,
    secrets: new SecretsManagerSecretStore(secretsClient, env.SECRET_PREFIX),
    queue: new SqsChangeQueue(new SQSClient({}), {
      queueUrl: env.QUEUE_URL,
      queueArn: env.QUEUE_ARN,
      dlqUrl: env.DLQ_URL,
      dlqArn: env.DLQ_ARN,
    }),
    forwarding: new LambdaForwardSwitch(
      new LambdaClient({}),
      env.FORWARD_FUNCTION_NAME,
      env.QUEUE_ARN,
    ),
    events: new EventBridgePublisher(new EventBridgeClient({}), env.EVENT_BUS_NAME),
    metrics: new PowertoolsMetricSink(env.METRICS_NAMESPACE),
  });
  const sfn = new SFNClient({});
  return {
    env,
    secretsClient,
    ...services,
    ...(env.STATE_MACHINE_ARN
      ? { fullSyncRunner: new StepFunctionsRunner(sfn, env.STATE_MACHINE_ARN) }
      : {}),
    ...(env.FAILBACK_STATE_MACHINE_ARN
      ? {
          failbackRunner: new StepFunctionsRunner(
            sfn,
            env.FAILBACK_STATE_MACHINE_ARN,
            "failbackId",
          ),
        }
      : {}),
  };
}
