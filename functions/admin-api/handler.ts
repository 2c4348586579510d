import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import { DynamoConfigStore } from "../../shared/adapters/dynamo-config-store.ts";
import { SecretsManagerSecretStore } from "../../shared/adapters/secrets-manager-secret-store.ts";
import type { Credentials } from "../../shared/ports.ts";
import { readEnv } from "../env.ts";
import { serverServices } from "../server.ts";
import { createAdminApi } from "./app.ts";

const env = readEnv({
  TABLE_NAME: z.string().min(1),
  SERVER_ID: z.string().min(1),
  AWS_REGION: z.string().min(1),
  SECRET_PREFIX: z.string().min(1),
  ADMIN_SECRET_ID: z.string().min(1),
});
const secretsClient = new SecretsManagerClient({});
const services = serverServices({
  store: new DynamoConfigStore(new DynamoDBClient({}), env.TABLE_NAME),
  secrets: new SecretsManagerSecretStore(secretsClient, env.SECRET_PREFIX),
  serverId: env.SERVER_ID,
});

const adminSecret = z.object({ username: z.string(), password: z.string() });
let adminCredentials: Promise<Credentials> | undefined;
/** Read once per container; a failed read is retried by the next request. */
function readAdminCredentials(): Promise<Credentials> {
  adminCredentials ??= secretsClient
    .send(new GetSecretValueCommand({ SecretId: env.ADMIN_SECRET_ID }))
    .then(({ SecretString }) => adminSecret.parse(JSON.parse(SecretString ?? "{}")))
    .catch((error: unknown) => {
      adminCredentials = undefined;
      throw error;
    });
  return adminCredentials;
}

export const handler = createAdminApi({
  ...services,
  adminCredentials: readAdminCredentials,
  region: env.AWS_REGION,
  logger: new Logger({ serviceName: "mft-failover-admin-api" }),
});
