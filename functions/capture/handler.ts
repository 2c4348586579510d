import { Logger } from "@aws-lambda-powertools/logger";
import { cloudServices } from "../cloud.ts";
import { createCaptureHandler } from "./app.ts";

export const handler = createCaptureHandler({
  ...cloudServices(),
  logger: new Logger({ serviceName: "mft-failover-capture" }),
});
