import { Logger } from "@aws-lambda-powertools/logger";
import { cloudServices } from "../cloud.ts";
import { createFailbackHandler } from "./app.ts";

/** The Lambda behind every Task of the failback state machine (R19). */
export const handler = createFailbackHandler({
  ...cloudServices(),
  logger: new Logger({ serviceName: "mft-failover-failback" }),
});
