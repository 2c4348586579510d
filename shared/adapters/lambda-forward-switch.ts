import {
  type LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";
import type { ForwardSwitch } from "../ports.ts";

/**
 * Suspends and resumes automatic sync by disabling the forward function's SQS event source
 * mapping (R9): messages stay in the queue, nothing calls the dead peer. The mapping is found
 * by function and queue, so the stack needs no circular reference to its id.
 */
export class LambdaForwardSwitch implements ForwardSwitch {
  private mappingId: string | undefined;

  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
    private readonly queueArn: string,
  ) {}

  suspend = () => this.setEnabled(false);
  resume = () => this.setEnabled(true);

  private async setEnabled(enabled: boolean): Promise<void> {
    const UUID = await this.mapping();
    await this.client.send(new UpdateEventSourceMappingCommand({ UUID, Enabled: enabled }));
  }

  private async mapping(): Promise<string> {
    if (this.mappingId) return this.mappingId;
    const { EventSourceMappings = [] } = await this.client.send(
      new ListEventSourceMappingsCommand({
        FunctionName: this.functionName,
        EventSourceArn: this.queueArn,
      }),
    );
    const id = EventSourceMappings[0]?.UUID;
    if (!id)
      throw new Error(`no event source mapping from ${this.queueArn} to ${this.functionName}`);
    this.mappingId = id;
    return id;
  }
}
