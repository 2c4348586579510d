import { EventBus } from "aws-cdk-lib/aws-events";
import { Construct } from "constructs";

export interface EventsProps {
  /**
   * The bus name; it must be unique in the account and region.
   * @default - a name CloudFormation generates
   */
  readonly eventBusName?: string;
}

/**
 * The region's own EventBridge bus for `Failover Synchronization` events (R16); the trigger
 * rules of R17 (Send Email, HTTP request) attach here. A bus of our own, not the account's
 * default one, so our rules never see (or pay for) unrelated events.
 */
export class Events extends Construct {
  readonly bus: EventBus;

  constructor(scope: Construct, id: string, props: EventsProps = {}) {
    super(scope, id);
    this.bus = new EventBus(this, "Bus", {
      ...(props.eventBusName ? { eventBusName: props.eventBusName } : {}),
      description: "mft-failover: Failover Synchronization events (source mft.failover)",
    });
  }
}
