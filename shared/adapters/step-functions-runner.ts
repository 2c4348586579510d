import { type SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { FullSyncRunner } from "../ports.ts";

/** Starts the full-sync state machine on Step Functions; the execution is named by the sync id. */
export class StepFunctionsRunner implements FullSyncRunner {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(syncId: string): Promise<void> {
    await this.client.send(
      new StartExecutionCommand({
        stateMachineArn: this.stateMachineArn,
        name: syncId,
        input: JSON.stringify({ syncId }),
      }),
    );
  }
}
