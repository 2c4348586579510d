import { Logger } from "@aws-lambda-powertools/logger";
import { cloudServices } from "../cloud.ts";
import { createMonitorHandler } from "./app.ts";

/** Invoked by the heartbeat and verify schedules (EventBridge Scheduler). */
export const handler = createMonitorHandler({
  ...cloudServices(),
  logger: new Logger({ serviceName: "mft-failover-monitor" }),
});
