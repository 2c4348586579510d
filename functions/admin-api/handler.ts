import { Logger } from "@aws-lambda-powertools/logger";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import type { Credentials } from "../../shared/ports.ts";
import { cloudServices } from "../cloud.ts";
import { readEnv } from "../env.ts";
import { createAdminApi } from "./app.ts";

const services = cloudServices();
const { ADMIN_SECRET_ID } = readEnv({ ADMIN_SECRET_ID: z.string().min(1) });

const adminSecret = z.object({ username: z.string(), password: z.string() });
let adminCredentials: Promise<Credentials> | undefined;
/** Read once per container; a failed read is retried by the next request. */
function readAdminCredentials(): Promise<Credentials> {
  adminCredentials ??= services.secretsClient
    .send(new GetSecretValueCommand({ SecretId: ADMIN_SECRET_ID }))
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
  region: services.env.AWS_REGION,
  logger: new Logger({ serviceName: "mft-failover-admin-api" }),
});
