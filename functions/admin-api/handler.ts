import { Logger } from "@aws-lambda-powertools/logger";
import { z } from "zod";
import { SecretsManagerAdminAuth } from "../../shared/adapters/secrets-manager-admin-auth.ts";
import { cloudServices } from "../cloud.ts";
import { readEnv } from "../env.ts";
import { createAdminApi } from "./app.ts";

const services = cloudServices();
const { ADMIN_SECRET_ID } = readEnv({ ADMIN_SECRET_ID: z.string().min(1) });

export const handler = createAdminApi({
  ...services,
  admin: new SecretsManagerAdminAuth(services.secretsClient, ADMIN_SECRET_ID),
  region: services.env.AWS_REGION,
  logger: new Logger({ serviceName: "mft-failover-admin-api" }),
});
