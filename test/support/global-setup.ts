import type { TestProject } from "vitest/node";
import { startLocal } from "../../infra/local/runtime.ts";

export const TEST_NET_IP = "192.0.2.10";
export const TEST_NET_SUBSTITUTE = "198.51.100.10";

declare module "vitest" {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
    productionUrl: string;
    failoverUrl: string;
    adminPassword: string;
  }
}

/**
 * One local runtime (both regions, DynamoDB Local, the SQS server) for the whole run, as
 * `npm start` runs it but on free ports and without the sample data; tests use their own names.
 */
export default async function setup(project: TestProject) {
  const runtime = await startLocal({ productionPort: 0, failoverPort: 0, seed: false });
  // Services on TEST_NET_IP are written to the failover with TEST_NET_SUBSTITUTE (R14).
  const settings = await runtime.production.services.failoverSettings.get();
  await runtime.production.services.failoverSettings.put({
    ...settings,
    ipSubstitutions: [{ ip: TEST_NET_IP, substituteIp: TEST_NET_SUBSTITUTE }],
  });
  project.provide("dynamoEndpoint", runtime.dynamoEndpoint);
  project.provide("sqsEndpoint", runtime.sqsEndpoint);
  project.provide("productionUrl", runtime.production.url);
  project.provide("failoverUrl", runtime.failover.url);
  project.provide("adminPassword", runtime.admin.password);
  return runtime.stop;
}
