import { Logger } from "@aws-lambda-powertools/logger";
import { cloudServices } from "../cloud.ts";
import { createFullSyncHandler } from "./app.ts";

/** The Lambda behind every Task of the full-sync state machine. */
export const handler = createFullSyncHandler({
  ...cloudServices(),
  logger: new Logger({ serviceName: "mft-failover-full-sync" }),
});
