import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type { FullSyncTaskEvent } from "../../functions/full-sync/app.ts";
import { fullSyncDefinition, taskStateNames } from "../../functions/full-sync/definition.ts";
import { LocalStateMachine } from "../../infra/local/step-functions.ts";

const validator = createRequire(import.meta.url)("asl-validator") as (
  definition: unknown,
  options?: { checkArn?: boolean; checkPaths?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

const ARN = "arn:aws:lambda:us-east-1:123456789012:function:mft-full-sync";

describe("the full-sync state machine definition", () => {
  it("passes asl-validator (JSONPath, ARNs and paths checked)", () => {
    // The validator annotates what it is given; the definition stays the module's own.
    const result = validator(structuredClone(fullSyncDefinition(ARN)), {
      checkArn: true,
      checkPaths: true,
    });
    expect(result.errorsText("\n")).toBe("");
    expect(result.isValid).toBe(true);
  });

  it("retries the Lambda service's own failures on every Task, a client-side timeout included", () => {
    const definition = JSON.stringify(fullSyncDefinition(ARN));
    const retries = definition.match(/"Retry":\[[^\]]*\]/g) ?? [];
    // One per Task state: the nine the next test names.
    expect(retries.length).toBe(9);
    for (const retry of retries) expect(retry).toContain("Lambda.ClientExecutionTimeoutException");
  });

  it("binds every Task, Map iterations included, to the one function", () => {
    const definition = fullSyncDefinition(ARN);
    expect(taskStateNames(definition).sort()).toEqual(
      [
        "Check",
        "Compare",
        "CopySegment",
        "Finish",
        "Lock",
        "RecordFailure",
        "StartRunState",
        "VerifySegment",
        "WipeSegment",
      ].sort(),
    );
    expect(JSON.stringify(definition)).not.toContain("JSONata");
  });

  const steps = [
    "check",
    "lock",
    "wipeSegment",
    "copySegment",
    "verifySegment",
    "compare",
    "startRunState",
    "finish",
  ] as const;
  it.each(steps)("catches a failure of %s: RecordFailure runs with its error", async (failing) => {
    const calls: FullSyncTaskEvent[] = [];
    const segment = (event: FullSyncTaskEvent) => ({
      ...(event as { state: object }).state,
      done: true,
    });
    const handler = async (event: FullSyncTaskEvent) => {
      calls.push(event);
      if (event.task === failing) {
        const error = new Error(`${failing} broke`);
        error.name = "PeerError";
        throw error;
      }
      switch (event.task) {
        case "check":
          return {
            syncId: event.syncId,
            startedAt: "t",
            totalSegments: 2,
            segments: [0, 1],
            startAfterSync: true,
          };
        case "wipeSegment":
        case "copySegment":
        case "verifySegment":
          return segment(event);
        case "startRunState":
          return { started: 1, done: true };
        default:
          return {};
      }
    };
    const definition = fullSyncDefinition(ARN, 2);
    const machine = new LocalStateMachine({
      definition,
      taskStates: taskStateNames(definition),
      handler: handler as never,
      functionName: "full-sync",
      timeoutMs: 10_000,
    });

    await machine.start("run-1");
    await machine.wait("run-1");

    const failures = calls.filter((call) => call.task === "fail");
    expect(failures).toEqual([
      { task: "fail", syncId: "run-1", error: { Error: "PeerError", Cause: `${failing} broke` } },
    ]);
    // A failed run never finishes as a success.
    if (failing !== "finish") expect(calls.map((call) => call.task)).not.toContain("finish");
  });
});
