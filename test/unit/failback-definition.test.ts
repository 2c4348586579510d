import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type { FailbackTaskEvent } from "../../functions/failback/app.ts";
import { failbackDefinition } from "../../functions/failback/definition.ts";
import { taskStateNames } from "../../functions/full-sync/definition.ts";
import { LocalStateMachine } from "../../infra/local/step-functions.ts";
import { FAILBACK_STEPS, type FailbackStep } from "../../shared/sync/failback.ts";

const validator = createRequire(import.meta.url)("asl-validator") as (
  definition: unknown,
  options?: { checkArn?: boolean; checkPaths?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

const ARN = "arn:aws:lambda:us-east-1:123456789012:function:mft-failback";

interface State {
  readonly Type: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly End?: boolean;
  readonly Choices?: readonly { readonly Next: string }[];
  readonly Catch?: readonly { readonly Next: string }[];
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[] }[];
  readonly TimeoutSeconds?: number;
  readonly Resource?: string;
}
const statesOf = () => failbackDefinition(ARN).States as unknown as Readonly<Record<string, State>>;

/** The states one transition away: Next, Default, every Choice and every Catch. */
const successors = (state: State) => [
  ...(state.Next ? [state.Next] : []),
  ...(state.Default ? [state.Default] : []),
  ...(state.Choices ?? []).map((choice) => choice.Next),
  ...(state.Catch ?? []).map((handler) => handler.Next),
];

/** Every state reachable from `from` (itself included). */
function reachable(states: Readonly<Record<string, State>>, from: string): Set<string> {
  const seen = new Set<string>();
  const todo = [from];
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const state = states[name];
    if (state) todo.push(...successors(state));
  }
  return seen;
}

/** The state name of a step, as the definition names it. */
const stateName = (step: FailbackStep) => step.charAt(0).toUpperCase() + step.slice(1);

describe("the failback state machine definition (R19)", () => {
  it("passes asl-validator (JSONPath, ARNs and paths checked)", () => {
    // The validator annotates what it is given; the definition stays the module's own.
    const result = validator(structuredClone(failbackDefinition(ARN)), {
      checkArn: true,
      checkPaths: true,
    });
    expect(result.errorsText("\n")).toBe("");
    expect(result.isValid).toBe(true);
    expect(JSON.stringify(failbackDefinition(ARN))).not.toContain("JSONata");
  });

  it("has a Task per step, plus Begin, Finish and RecordFailure, all on the one function", () => {
    const definition = failbackDefinition(ARN);
    expect(taskStateNames(definition).sort()).toEqual(
      [...FAILBACK_STEPS.map(stateName), "Begin", "Finish", "RecordFailure"].sort(),
    );
    for (const name of taskStateNames(definition)) expect(statesOf()[name]?.Resource).toBe(ARN);
  });

  it("gives every Task a timeout and retries the Lambda service's own failures, a client-side timeout included", () => {
    const states = statesOf();
    for (const name of taskStateNames(failbackDefinition(ARN))) {
      const state = states[name];
      expect(state?.TimeoutSeconds, name).toBeGreaterThan(0);
      const retried = (state?.Retry ?? []).flatMap((retry) => retry.ErrorEquals);
      expect(retried, name).toContain("Lambda.ClientExecutionTimeoutException");
      // Retrying everything would run a step's side effects again after a real failure.
      expect(retried, name).not.toContain("States.ALL");
    }
  });

  it("catches every Task: a step's failure goes to RecordFailure, RecordFailure's to FailbackFailed", () => {
    const states = statesOf();
    for (const name of taskStateNames(failbackDefinition(ARN))) {
      const expected = name === "RecordFailure" ? "FailbackFailed" : "RecordFailure";
      expect(states[name]?.Catch, name).toEqual([
        { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: expected },
      ]);
    }
    expect(states.FailbackFailed?.Type).toBe("Fail");
  });

  it("can go from ResumeAt to every step directly (a resumed run starts at its failed step)", () => {
    const resumeAt = statesOf().ResumeAt;
    expect(resumeAt?.Type).toBe("Choice");
    const targets = (resumeAt?.Choices ?? []).map((choice) => choice.Next);
    expect(targets).toEqual(FAILBACK_STEPS.map(stateName));
    // A run with nothing left to do finishes.
    expect(resumeAt?.Default).toBe("Finish");
  });

  it("reaches every step state, its poll and Finish from ResumeAt, and every state from StartAt", () => {
    const states = statesOf();
    const fromResume = reachable(states, "ResumeAt");
    for (const step of FAILBACK_STEPS) {
      const name = stateName(step);
      for (const state of [name, `${name}Done?`, `${name}Wait`]) {
        expect(states[state], state).toBeDefined();
        expect(fromResume.has(state), state).toBe(true);
      }
    }
    expect(fromResume.has("Finish")).toBe(true);
    // No orphan state, and every transition names a state that exists.
    const { StartAt } = failbackDefinition(ARN);
    expect([...reachable(states, StartAt)].sort()).toEqual(Object.keys(states).sort());
    for (const [name, state] of Object.entries(states)) {
      for (const next of successors(state)) expect(states[next], `${name} → ${next}`).toBeDefined();
    }
  });

  it("runs the steps in order, each after the previous one is done", () => {
    const states = statesOf();
    for (const [index, step] of FAILBACK_STEPS.entries()) {
      const next = FAILBACK_STEPS[index + 1];
      const done = states[`${stateName(step)}Done?`];
      expect(done?.Choices?.map((choice) => choice.Next)).toEqual([
        next ? stateName(next) : "Finish",
      ]);
      expect(done?.Default).toBe(`${stateName(step)}Wait`);
      expect(states[`${stateName(step)}Wait`]?.Next).toBe(stateName(step));
    }
  });
});

describe("the failback definition, run (aws-local-stepfunctions, as local mode runs it)", () => {
  /** Runs the definition with a handler that begins at `from` and fails `failing`, if given. */
  async function run(options: {
    from: FailbackStep;
    failing?: FailbackStep;
    pollOnce?: FailbackStep;
  }) {
    const calls: FailbackTaskEvent[] = [];
    let polled = false;
    const handler = async (event: FailbackTaskEvent) => {
      calls.push(event);
      switch (event.task) {
        case "begin":
          return { next: options.from };
        case "step":
          if (event.step === options.failing) {
            const error = new Error(`${event.step} broke`);
            error.name = "FailbackError";
            throw error;
          }
          if (event.step === options.pollOnce && !polled) {
            polled = true;
            return { done: false };
          }
          return { done: true };
        default:
          return {};
      }
    };
    const definition = failbackDefinition(ARN);
    const machine = new LocalStateMachine({
      definition,
      taskStates: taskStateNames(definition),
      handler: handler as never,
      functionName: "failback",
      timeoutMs: 10_000,
      idField: "failbackId",
    });
    await machine.start("fb-1");
    await machine.wait("fb-1");
    return calls;
  }
  const stepsCalled = (calls: FailbackTaskEvent[]) =>
    calls.flatMap((call) => (call.task === "step" ? [call.step] : []));

  it.each(FAILBACK_STEPS)(
    "resumed at %s, runs it and every later step, then finishes",
    async (from) => {
      const calls = await run({ from });

      expect(stepsCalled(calls)).toEqual(FAILBACK_STEPS.slice(FAILBACK_STEPS.indexOf(from)));
      expect(calls.at(-1)).toEqual({ task: "finish", failbackId: "fb-1" });
      expect(calls.map((call) => call.task)).not.toContain("fail");
    },
  );

  it.each(FAILBACK_STEPS)(
    "stops at a failed %s: RecordFailure runs with its error, nothing later",
    async (failing) => {
      const calls = await run({ from: "disableProduction", failing });

      expect(stepsCalled(calls).at(-1)).toBe(failing);
      expect(calls.filter((call) => call.task === "fail")).toEqual([
        {
          task: "fail",
          failbackId: "fb-1",
          error: { Error: "FailbackError", Cause: `${failing} broke` },
        },
      ]);
      expect(calls.map((call) => call.task)).not.toContain("finish");
    },
  );

  it("asks a step that is not done yet again after the Wait", async () => {
    const calls = await run({ from: "fullSyncToProduction", pollOnce: "fullSyncToProduction" });

    expect(stepsCalled(calls)).toEqual([
      "fullSyncToProduction",
      "fullSyncToProduction",
      "disableFailover",
      "verify",
      "reenableProduction",
    ]);
    expect(calls.at(-1)?.task).toBe("finish");
  });
});
