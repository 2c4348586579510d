import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { type LocalOptions, type LocalRuntime, startLocal } from "../../infra/local/runtime.ts";

/**
 * Two regions of a test file's own, as `startLocal` runs them (free ports, no sample data unless
 * `seed`), but on the run's DynamoDB Local (the global setup's JVM), in databases of their own:
 * a JVM per file would cost seconds of CPU each.
 */
export function startOwnRuntime(
  options: Partial<Omit<LocalOptions, "dynamoDb" | "dataDir">> = {},
): Promise<LocalRuntime> {
  return startLocal({
    productionPort: 0,
    failoverPort: 0,
    seed: false,
    ...options,
    dynamoDb: {
      endpoint: inject("dynamoEndpoint"),
      database: `test${randomBytes(8).toString("hex")}`,
    },
  });
}
