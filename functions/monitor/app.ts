import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { type MonitorDeps, scheduledVerify, sendHeartbeat } from "../../shared/sync/monitor.ts";
import { withDeadline } from "../../shared/sync/peer.ts";

/** What the schedules send (EventBridge Scheduler's input; the local runtime's timers alike). */
export type MonitorEvent =
  | { readonly task: "heartbeat"; readonly intervalSeconds: number }
  | { readonly task: "verify" };

export interface MonitorHandlerDeps extends MonitorDeps {
  readonly logger: Logger;
}

/** The scheduled checks of one server: the heartbeat (R20, R9 auto-resume) and verify (R21). */
export function createMonitorHandler(handlerDeps: MonitorHandlerDeps) {
  return middy<MonitorEvent, unknown>()
    .use(injectLambdaContext(handlerDeps.logger, { logEvent: false }))
    .handler(async (event, context): Promise<unknown> => {
      // No call to the failover outlives the invocation.
      const deps = withDeadline(
        handlerDeps,
        Date.now() + context.getRemainingTimeInMillis() - 1000,
      );
      switch (event.task) {
        case "heartbeat": {
          const outcome = await sendHeartbeat(deps, event.intervalSeconds);
          if (outcome.missed) deps.logger.warn("heartbeat missed", { ...outcome });
          if (outcome.receiving?.missed)
            deps.logger.warn("production's heartbeats missed", { ...outcome.receiving });
          return outcome;
        }
        case "verify": {
          const outcome = await scheduledVerify(deps);
          if ((outcome.differences ?? 0) > 0) deps.logger.warn("drift", { ...outcome });
          return outcome;
        }
        default:
          throw new Error(`unknown monitor task ${(event as { task?: unknown }).task}`);
      }
    });
}
