import type { Context } from "aws-lambda";
import { StateMachine } from "aws-local-stepfunctions";
import type { RunStarter } from "../../shared/ports.ts";
import { lambdaContext } from "./lambda-context.ts";

type Json = Parameters<StateMachine["run"]>[0];
type Definition = ConstructorParameters<typeof StateMachine>[0];

export interface LocalStateMachineOptions {
  /** The same definition object the CDK stack deploys. */
  readonly definition: object;
  /** The Task states' names; each runs `handler`, as the Lambda named in its Resource would. */
  readonly taskStates: string[];
  /** The Lambda handler behind the Tasks. */
  readonly handler: (event: never, context: Context) => Promise<unknown>;
  readonly functionName: string;
  readonly timeoutMs: number;
  readonly onExecutionError?: (runId: string, error: unknown) => void;
  /** The input field that carries the run's id. @default "syncId" */
  readonly idField?: "syncId" | "failbackId";
}

/**
 * Local mode's Step Functions: runs a definition (full sync, failback) in this process with
 * aws-local-stepfunctions, each Task bound to the handler code the Lambda runs.
 */
export class LocalStateMachine implements RunStarter {
  private readonly machine: StateMachine;
  private readonly running = new Map<string, { abort(): void; done: Promise<unknown> }>();

  constructor(private readonly options: LocalStateMachineOptions) {
    this.machine = new StateMachine(structuredClone(options.definition) as Definition, {
      // Validated like Step Functions validates it; the Resource ARNs are placeholders locally.
      validationOptions: { checkArn: false },
    });
  }

  async start(runId: string): Promise<void> {
    const invoke = async (input: Json) =>
      (await this.options.handler(
        structuredClone(input) as never,
        lambdaContext(this.options.functionName, this.options.timeoutMs),
      )) as Json;
    const execution = this.machine.run(
      { [this.options.idField ?? "syncId"]: runId },
      {
        overrides: {
          taskResourceLocalHandlers: Object.fromEntries(
            this.options.taskStates.map((name) => [name, invoke]),
          ),
        },
        noThrowOnAbort: true,
        context: { Execution: { Name: runId, StartTime: new Date().toISOString() } },
      },
    );
    const done = execution.result.then(
      () => undefined,
      // A failed run recorded its failure in RecordFailure; anything else is logged.
      (error: unknown) => this.options.onExecutionError?.(runId, error),
    );
    this.running.set(runId, { abort: execution.abort, done });
    void done.finally(() => this.running.delete(runId));
  }

  /** Waits for a run (tests and the benchmark); resolves at once when it is not running. */
  async wait(runId: string): Promise<void> {
    await this.running.get(runId)?.done;
  }

  /** Aborts what is running (the process is stopping; a new run repairs what it left). */
  async stop(): Promise<void> {
    const runs = [...this.running.values()];
    for (const run of runs) run.abort();
    await Promise.all(runs.map((run) => run.done));
  }
}
