import { z } from "zod";
import { fromZodError } from "../errors.ts";
import { host, port, username } from "../model/schemas.ts";

/** How the failover reaches production (failback step 2); the password lives in the SecretStore. */
const productionAddress = z.strictObject({
  host,
  port: port.default(443),
  useTls: z.boolean().default(true),
  username: z.string().min(1).max(128).pipe(username),
  password: z.string().min(1).max(1024),
});
export type ProductionAddress = z.infer<typeof productionAddress>;

const failbackRequest = z.union([
  z.strictObject({ production: productionAddress.optional() }),
  z.strictObject({ resume: z.uuid(), production: productionAddress.optional() }),
]);
export type FailbackRequest = z.infer<typeof failbackRequest>;

/**
 * The body of `POST /api/failover/failback`: `{ production? }` starts a run, `{ resume,
 * production? }` continues a failed one. A 400 naming the field otherwise.
 */
export function parseFailbackRequest(body: unknown): FailbackRequest {
  const parsed = failbackRequest.safeParse(body ?? {});
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data;
}
