import { Logger } from "@aws-lambda-powertools/logger";
import { topology } from "../../infra/topology.ts";
import { cloudServices } from "../cloud.ts";
import { createForwardHandler } from "./app.ts";

export const handler = createForwardHandler({
  ...cloudServices(),
  retry: topology.forward.retry,
  logger: new Logger({ serviceName: "mft-failover-forward" }),
});
