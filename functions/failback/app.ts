import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { type FailbackDeps, type FailbackStep, failbackTasks } from "../../shared/sync/failback.ts";
import type { TaskError } from "../../shared/sync/run.ts";

/** What each Task state of the definition sends (its Parameters). */
export type FailbackTaskEvent =
  | { readonly task: "begin" | "finish"; readonly failbackId: string }
  | { readonly task: "step"; readonly failbackId: string; readonly step: FailbackStep }
  | { readonly task: "fail"; readonly failbackId: string; readonly error?: TaskError };

export interface FailbackHandlerDeps extends FailbackDeps {
  readonly logger: Logger;
}

/** The one function behind every Task of the failback state machine (R19). */
export function createFailbackHandler(deps: FailbackHandlerDeps) {
  const tasks = failbackTasks(deps);
  return middy<FailbackTaskEvent, unknown>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .handler(async (event): Promise<unknown> => {
      switch (event.task) {
        case "begin":
          return tasks.begin(event);
        case "step":
          return tasks.step(event);
        case "finish":
          return tasks.finish(event);
        case "fail":
          return tasks.fail(event);
        default:
          throw new Error(`unknown failback task ${(event as { task?: unknown }).task}`);
      }
    });
}
