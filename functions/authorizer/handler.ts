import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import { SecretsManagerAdminAuth } from "../../shared/adapters/secrets-manager-admin-auth.ts";
import { readEnv } from "../env.ts";
import { createAuthorizer } from "./app.ts";

const { ADMIN_SECRET_ID } = readEnv({ ADMIN_SECRET_ID: z.string().min(1) });

export const handler = createAuthorizer({
  admin: new SecretsManagerAdminAuth(new SecretsManagerClient({}), ADMIN_SECRET_ID),
});
