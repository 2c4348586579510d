import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import { z } from "zod";
import { triggers } from "../../shared/config/entities.ts";
import type { ConfigService } from "../../shared/config/service.ts";
import { AppError } from "../../shared/errors.ts";
import { type ActionPorts, runActions, type TriggerRun } from "../../shared/events/actions.ts";
import { parseTrigger, triggerMatches } from "../../shared/events/engine.ts";
import { name } from "../../shared/model/schemas.ts";

export interface TriggerActionsDeps extends ActionPorts {
  readonly config: Pick<ConfigService, "get" | "list">;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** What a trigger rule's input transformer sends: the trigger's id and the original event. */
const ruleInput = z.object({
  triggerId: name,
  event: z.object({
    id: z.string(),
    time: z.string(),
    source: z.string(),
    "detail-type": z.string(),
    detail: z.record(z.string(), z.unknown()),
  }),
});

export type TriggerActionsResult =
  | { readonly skipped: "not found" | "disabled or no longer matching" }
  | TriggerRun;

/**
 * The target of every trigger rule (R17): loads the trigger, checks that its *current*
 * configuration still matches (a rule may lag a change by a moment), and runs its actions.
 * A failed action is recorded (log, `TriggerActionsFailed` metric) and never thrown: a retry of
 * the whole invocation would send the actions that did succeed a second time.
 */
export function createTriggerActionsHandler(deps: TriggerActionsDeps) {
  return middy<unknown, TriggerActionsResult>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .use(logMetrics(deps.metrics))
    .handler(async (input) => {
      const { triggerId, event } = ruleInput.parse(input);
      // With the secret header values: the actions send them (the API never shows them).
      const view = await deps.config
        .get(triggers, { id: triggerId }, { withSecrets: true })
        .catch((error: unknown) => {
          if (error instanceof AppError && error.status === 404) return undefined;
          throw error;
        });
      const trigger = view && parseTrigger(view);
      if (!trigger) {
        deps.logger.warn("trigger not found", { triggerId });
        deps.metrics.addMetric("TriggerSkipped", MetricUnit.Count, 1);
        return { skipped: "not found" };
      }
      if (!triggerMatches(trigger, event)) {
        deps.logger.info("trigger skipped", { triggerId, eventId: event.id });
        deps.metrics.addMetric("TriggerSkipped", MetricUnit.Count, 1);
        return { skipped: "disabled or no longer matching" };
      }
      const run = await runActions(trigger, event, deps);
      const failed = run.actions.filter((action) => !action.ok).length;
      deps.metrics.addMetric("TriggerActionsFailed", MetricUnit.Count, failed);
      deps.metrics.addMetric(
        "TriggerActionsSucceeded",
        MetricUnit.Count,
        run.actions.length - failed,
      );
      if (failed > 0) deps.logger.warn("trigger actions failed", { run });
      else deps.logger.info("trigger ran", { run });
      return run;
    });
}
