import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SNSClient } from "@aws-sdk/client-sns";
import { z } from "zod";
import { DynamoConfigStore } from "../../shared/adapters/dynamo-config-store.ts";
import { SesMailer, SnsMailer, unconfiguredMailer } from "../../shared/adapters/mailers.ts";
import { allowHostList, safeHttpSender } from "../../shared/adapters/safe-http.ts";
import { ConfigService } from "../../shared/config/service.ts";
import type { Mailer } from "../../shared/events/actions.ts";
import { HybridClock } from "../../shared/model/version.ts";
import { readEnv } from "../env.ts";
import { createTriggerActionsHandler } from "./app.ts";

const env = readEnv({
  TABLE_NAME: z.string().min(1),
  SERVER_ID: z.string().min(1),
  /** The stack's CloudWatch namespace, which the TriggerActionsFailed alarm watches. */
  METRICS_NAMESPACE: z.string().min(1),
  /** A verified SES identity: email goes through SES. */
  MAIL_FROM: z.email().optional(),
  SES_CONFIGURATION_SET: z.string().min(1).optional(),
  /** Without MAIL_FROM: email goes to this SNS topic's (filtered) email subscriptions. */
  MAIL_TOPIC_ARN: z.string().startsWith("arn:").optional(),
  /**
   * Hosts HTTP actions may reach even at a private, loopback or link-local address
   * (comma-separated host names or IP literals; the config's `httpAllowHosts`).
   */
  HTTP_ALLOW_HOSTS: allowHostList.optional(),
});

function mailer(): Mailer {
  if (env.MAIL_FROM)
    return new SesMailer(new SESv2Client({}), env.MAIL_FROM, env.SES_CONFIGURATION_SET);
  if (env.MAIL_TOPIC_ARN) return new SnsMailer(new SNSClient({}), env.MAIL_TOPIC_ARN);
  return unconfiguredMailer;
}

export const handler = createTriggerActionsHandler({
  config: new ConfigService({
    store: new DynamoConfigStore(new DynamoDBClient({}), env.TABLE_NAME),
    clock: new HybridClock(),
    serverId: env.SERVER_ID,
  }),
  mailer: mailer(),
  http: safeHttpSender({ allowHosts: env.HTTP_ALLOW_HOSTS ?? [] }),
  logger: new Logger({ serviceName: "mft-failover-trigger-actions" }),
  metrics: new Metrics({ namespace: env.METRICS_NAMESPACE, serviceName: "trigger-actions" }),
});
