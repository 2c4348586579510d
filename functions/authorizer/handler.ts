import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import type { Credentials } from "../../shared/ports.ts";
import { readEnv } from "../env.ts";
import { createAuthorizer } from "./app.ts";

const env = readEnv({ ADMIN_SECRET_ID: z.string().min(1) });
const client = new SecretsManagerClient({});
const adminSecret = z.object({ username: z.string().min(1), password: z.string().min(1) });

let adminCredentials: Promise<Credentials> | undefined;
/** Read once per container; a failed read is retried by the next request. */
function readAdminCredentials(): Promise<Credentials> {
  adminCredentials ??= client
    .send(new GetSecretValueCommand({ SecretId: env.ADMIN_SECRET_ID }))
    .then(({ SecretString }) => adminSecret.parse(JSON.parse(SecretString ?? "{}")))
    .catch((error: unknown) => {
      adminCredentials = undefined;
      throw error;
    });
  return adminCredentials;
}

export const handler = createAuthorizer({ adminCredentials: readAdminCredentials });
