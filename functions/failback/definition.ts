import { FAILBACK_STEPS, type FailbackStep } from "../../shared/sync/failback.ts";
import { LAMBDA_SERVICE_RETRY } from "../full-sync/definition.ts";

/** Seconds between two looks at a step that is not done yet (the full sync of step 3). */
export const FAILBACK_POLL_SECONDS = 2;

const stateName = (step: FailbackStep) => step.charAt(0).toUpperCase() + step.slice(1);

/**
 * The failback state machine (R19), JSONPath ASL, defined once: the CDK stack deploys this
 * object and the local runtime runs it with aws-local-stepfunctions, as the full sync does.
 * Every Task calls the one failback function with `task` naming what to do.
 *
 * Begin (the first step not yet done: a resumed run skips what succeeded) → the six steps in
 * order, each a Task that answers `done` or not yet (then Wait and ask again) → Finish. Any
 * failure goes to RecordFailure: the run is `failed` at that step with the reason, and
 * `POST /api/failover/failback {"resume": id}` starts a new execution that begins there.
 */
export function failbackDefinition(taskResource: string) {
  const catchAll = [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "RecordFailure" }];
  const task = (parameters: Record<string, unknown>, rest: Record<string, unknown>) => ({
    Type: "Task",
    Resource: taskResource,
    Parameters: { "failbackId.$": "$.failbackId", ...parameters },
    TimeoutSeconds: 300,
    Retry: LAMBDA_SERVICE_RETRY,
    ...rest,
  });
  const steps = Object.fromEntries(
    FAILBACK_STEPS.flatMap((step, index) => {
      const name = stateName(step);
      const next = FAILBACK_STEPS[index + 1];
      return [
        [
          name,
          task(
            { task: "step", step },
            { ResultPath: "$.step", Next: `${name}Done?`, Catch: catchAll },
          ),
        ],
        [
          `${name}Done?`,
          {
            Type: "Choice",
            Choices: [
              {
                Variable: "$.step.done",
                BooleanEquals: true,
                Next: next ? stateName(next) : "Finish",
              },
            ],
            Default: `${name}Wait`,
          },
        ],
        [`${name}Wait`, { Type: "Wait", Seconds: FAILBACK_POLL_SECONDS, Next: name }],
      ];
    }),
  );
  return {
    Comment:
      "mft-failover failback: production takes back the configuration the failover served, in six checked steps (R19)",
    // The full sync of step 3 has two hours; the other steps take seconds.
    TimeoutSeconds: 3 * 3600,
    StartAt: "Begin",
    States: {
      Begin: task({ task: "begin" }, { ResultPath: "$.begin", Next: "ResumeAt", Catch: catchAll }),
      ResumeAt: {
        Type: "Choice",
        Choices: FAILBACK_STEPS.map((step) => ({
          Variable: "$.begin.next",
          StringEquals: step,
          Next: stateName(step),
        })),
        Default: "Finish",
      },
      ...steps,
      Finish: task({ task: "finish" }, { ResultPath: "$.result", End: true, Catch: catchAll }),
      RecordFailure: task(
        { task: "fail", "error.$": "$.error" },
        {
          ResultPath: "$.result",
          Next: "FailbackFailed",
          Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "FailbackFailed" }],
        },
      ),
      FailbackFailed: {
        Type: "Fail",
        Error: "FailbackFailed",
        Cause:
          "the failback stopped at a step; GET /api/failover/failbacks/{id} says which and why",
      },
    },
  };
}
