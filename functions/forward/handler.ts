import { Logger } from "@aws-lambda-powertools/logger";
import { FORWARD_RETRY } from "../../shared/sync/forward.ts";
import { cloudServices } from "../cloud.ts";
import { createForwardHandler } from "./app.ts";

export const handler = createForwardHandler({
  ...cloudServices(),
  retry: FORWARD_RETRY,
  logger: new Logger({ serviceName: "mft-failover-forward" }),
});
