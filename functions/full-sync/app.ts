import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import {
  type FullSyncDeps,
  fullSyncTasks,
  type SegmentState,
  type StartState,
} from "../../shared/sync/full/tasks.ts";
import type { TaskError } from "../../shared/sync/run.ts";

/** What each Task state of the definition sends (its Parameters). */
export type FullSyncTaskEvent =
  | { readonly task: "check" | "lock"; readonly syncId: string }
  | {
      readonly task: "wipeSegment" | "copySegment" | "verifySegment";
      readonly state: SegmentState;
    }
  | {
      readonly task: "compare";
      readonly state: { syncId: string; copied: SegmentState[]; verified: SegmentState[] };
    }
  | { readonly task: "startRunState"; readonly state: { syncId: string; start?: StartState } }
  | { readonly task: "finish"; readonly state: { syncId: string } }
  | { readonly task: "fail"; readonly syncId: string; readonly error?: TaskError };

export interface FullSyncHandlerDeps extends FullSyncDeps {
  readonly logger: Logger;
}

/**
 * The one function behind every Task of the full-sync state machine: `task` names the step.
 * The cloud invokes it as a Lambda; the local runtime binds each Task state to it.
 */
export function createFullSyncHandler(deps: FullSyncHandlerDeps) {
  const tasks = fullSyncTasks(deps);
  return middy<FullSyncTaskEvent, unknown>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .handler(async (event): Promise<unknown> => {
      deps.logger.debug("full sync task", { task: event.task });
      switch (event.task) {
        case "check":
          return tasks.check(event);
        case "lock":
          return tasks.lock(event);
        case "wipeSegment":
          return tasks.wipeSegment(event);
        case "copySegment":
          return tasks.copySegment(event);
        case "verifySegment":
          return tasks.verifySegment(event);
        case "compare":
          return tasks.compare(event);
        case "startRunState":
          return tasks.startRunState(event);
        case "finish":
          return tasks.finish(event);
        case "fail":
          return tasks.fail(event);
        default:
          throw new Error(`unknown full sync task ${(event as { task?: unknown }).task}`);
      }
    });
}
