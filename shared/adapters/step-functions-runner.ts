import { type SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { RunStarter } from "../ports.ts";

/** Starts a run's state machine on Step Functions (full sync: the execution is named by the sync id). */
export class StepFunctionsRunner implements RunStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
    /** The input field that carries the run's id. */
    private readonly idField: "syncId" | "failbackId" = "syncId",
  ) {}

  async start(runId: string): Promise<void> {
    await this.client.send(
      new StartExecutionCommand({
        stateMachineArn: this.stateMachineArn,
        // A resumed failback is a new execution of the same run: names are unique for 90 days.
        name: this.idField === "syncId" ? runId : `${runId}-${Date.now()}`,
        input: JSON.stringify({ [this.idField]: runId }),
      }),
    );
  }
}
