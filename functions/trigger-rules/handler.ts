import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { z } from "zod";
import { DynamoConfigStore } from "../../shared/adapters/dynamo-config-store.ts";
import {
  DEFAULT_RULE_PREFIX,
  TriggerRules,
} from "../../shared/adapters/eventbridge-trigger-rules.ts";
import { ConfigService } from "../../shared/config/service.ts";
import { HybridClock } from "../../shared/model/version.ts";
import { readEnv } from "../env.ts";
import { createTriggerRulesHandler } from "./app.ts";

const env = readEnv({
  TABLE_NAME: z.string().min(1),
  SERVER_ID: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  TRIGGER_ACTIONS_FUNCTION_ARN: z.string().startsWith("arn:"),
  TRIGGER_RULE_PREFIX: z.string().min(1).max(32).default(DEFAULT_RULE_PREFIX),
  TRIGGER_DLQ_ARN: z.string().startsWith("arn:").optional(),
});

export const handler = createTriggerRulesHandler({
  rules: new TriggerRules(new EventBridgeClient({}), {
    busName: env.EVENT_BUS_NAME,
    actionsFunctionArn: env.TRIGGER_ACTIONS_FUNCTION_ARN,
    rulePrefix: env.TRIGGER_RULE_PREFIX,
    ...(env.TRIGGER_DLQ_ARN ? { deadLetterArn: env.TRIGGER_DLQ_ARN } : {}),
  }),
  // Read-only here: the clock and server id are never stamped on anything.
  config: new ConfigService({
    store: new DynamoConfigStore(new DynamoDBClient({}), env.TABLE_NAME),
    clock: new HybridClock(),
    serverId: env.SERVER_ID,
  }),
  logger: new Logger({ serviceName: "mft-failover-trigger-rules" }),
});
