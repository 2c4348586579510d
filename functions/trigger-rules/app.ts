import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import type { TriggerRules } from "../../shared/adapters/eventbridge-trigger-rules.ts";
import { triggers } from "../../shared/config/entities.ts";
import type { ConfigService } from "../../shared/config/service.ts";
import { AppError } from "../../shared/errors.ts";
import { ConditionError } from "../../shared/events/condition.ts";
import { loadTriggers, parseTrigger } from "../../shared/events/engine.ts";
import { SERVER_PARTITION, TRIGGER_PREFIX } from "../../shared/model/items.ts";

export interface TriggerRulesDeps {
  readonly rules: Pick<TriggerRules, "put" | "remove" | "reconcile">;
  readonly config: Pick<ConfigService, "get" | "list">;
  readonly logger: Logger;
}

/** A scheduled or manual run that makes all rules match the triggers again. */
export interface ReconcileEvent {
  readonly reconcile: true;
}

type Input = DynamoDBStreamEvent | ReconcileEvent;
type Output = DynamoDBBatchResponse | { put: number; removed: number };

/**
 * Keeps EventBridge rules in step with the triggers (R17). Fed by the config table's stream
 * (filtered to `SERVER` / `TRIGGER#…` keys), so every way a trigger changes — the admin API,
 * an automatic sync applying it on the failover, a full sync copying it — updates the rules.
 * For each record it reads the trigger's *current* state and puts or removes its rule, so
 * duplicates, retries and re-ordering of records all end in the same rules.
 */
export function createTriggerRulesHandler(deps: TriggerRulesDeps) {
  const syncOne = async (id: string) => {
    const view = await deps.config.get(triggers, { id }).catch((error: unknown) => {
      if (error instanceof AppError && error.status === 404) return undefined;
      throw error;
    });
    const trigger = view && parseTrigger(view);
    if (view && !trigger)
      deps.logger.warn("stored trigger is invalid; its rule is removed", { id });
    if (!trigger?.enabled) {
      await deps.rules.remove(id);
      return;
    }
    try {
      await deps.rules.put(trigger);
    } catch (error) {
      if (!(error instanceof ConditionError)) throw error;
      deps.logger.warn("trigger condition cannot be a rule; its rule is removed", { id });
      await deps.rules.remove(id);
    }
  };

  return middy<Input, Output>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .handler(async (event) => {
      if ("reconcile" in event) {
        const result = await deps.rules.reconcile(await loadTriggers(deps.config));
        deps.logger.info("trigger rules reconciled", result);
        return result;
      }
      const done = new Set<string>();
      for (const record of event.Records) {
        const keys = record.dynamodb?.Keys;
        const sk = keys?.sk?.S;
        if (keys?.pk?.S !== SERVER_PARTITION || !sk?.startsWith(TRIGGER_PREFIX)) continue;
        const id = sk.slice(TRIGGER_PREFIX.length);
        if (done.has(id)) continue;
        try {
          await syncOne(id);
          done.add(id);
        } catch (error) {
          deps.logger.error("trigger rule update failed", {
            id,
            error: error instanceof Error ? error.message : String(error),
          });
          // Lambda retries the batch from this record (ReportBatchItemFailures).
          return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? "" }] };
        }
      }
      return { batchItemFailures: [] };
    });
}
