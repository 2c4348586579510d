import { createHash } from "node:crypto";
import {
  DeleteRuleCommand,
  type EventBridgeClient,
  ListRulesCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-eventbridge";
import type { Trigger } from "../events/actions.ts";
import { compileCondition } from "../events/condition.ts";

export interface TriggerRulesOptions {
  readonly busName: string;
  /** The trigger-actions function every rule targets. */
  readonly actionsFunctionArn: string;
  /** Rule names start with it, so this stack's trigger rules can be listed and cleaned up. */
  readonly rulePrefix: string;
  /** Where EventBridge puts events it could not deliver to the actions function. */
  readonly deadLetterArn?: string;
}

/** The start of every trigger rule's name unless TRIGGER_RULE_PREFIX says otherwise. */
export const DEFAULT_RULE_PREFIX = "mft-trigger-";

/** The rule's only target: the actions function. */
export const TARGET_ID = "trigger-actions";
const MAX_RULE_NAME = 64;

/**
 * One EventBridge rule per enabled trigger: its pattern is the compiled condition, its target
 * the actions function, which receives `{ triggerId, event }` (an input transformer wraps the
 * original event, so the function knows which trigger fired).
 */
export class TriggerRules {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: TriggerRulesOptions,
  ) {
    if (!/^[.\-_A-Za-z0-9]{1,32}$/.test(options.rulePrefix)) {
      throw new Error("rulePrefix must be 1-32 of letters, digits, '.', '-', '_'");
    }
  }

  /** `<prefix><id>`, or a shortened id with a hash when that is over EventBridge's 64 characters. */
  ruleName(triggerId: string): string {
    const name = `${this.options.rulePrefix}${triggerId}`;
    if (name.length <= MAX_RULE_NAME) return name;
    const hash = createHash("sha256").update(triggerId).digest("hex").slice(0, 8);
    const room = MAX_RULE_NAME - this.options.rulePrefix.length - hash.length - 1;
    return `${this.options.rulePrefix}${triggerId.slice(0, room)}-${hash}`;
  }

  /** Creates or updates the trigger's rule and target (both calls are idempotent). */
  async put(trigger: Trigger): Promise<void> {
    const Name = this.ruleName(trigger.id);
    const EventBusName = this.options.busName;
    await this.client.send(
      new PutRuleCommand({
        Name,
        EventBusName,
        EventPattern: JSON.stringify(compileCondition(trigger.condition)),
        State: "ENABLED",
        Description: `mft-failover trigger ${trigger.id}`.slice(0, 512),
      }),
    );
    const { FailedEntryCount, FailedEntries } = await this.client.send(
      new PutTargetsCommand({
        Rule: Name,
        EventBusName,
        Targets: [
          {
            Id: TARGET_ID,
            Arn: this.options.actionsFunctionArn,
            InputTransformer: {
              InputPathsMap: {},
              // aws.events.event.json: the whole original event, usable as a JSON value.
              InputTemplate: `{"triggerId": ${JSON.stringify(trigger.id)}, "event": <aws.events.event.json>}`,
            },
            RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
            ...(this.options.deadLetterArn
              ? { DeadLetterConfig: { Arn: this.options.deadLetterArn } }
              : {}),
          },
        ],
      }),
    );
    if (FailedEntryCount) {
      throw new Error(
        `PutTargets failed for ${Name}: ${FailedEntries?.[0]?.ErrorCode ?? "unknown"}`,
      );
    }
  }

  /** Removes the trigger's rule (targets first, as EventBridge requires); absent is fine. */
  async remove(triggerId: string): Promise<void> {
    await this.removeRule(this.ruleName(triggerId));
  }

  /** The names of every rule this stack made for triggers. */
  async list(): Promise<string[]> {
    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListRulesCommand({
          EventBusName: this.options.busName,
          NamePrefix: this.options.rulePrefix,
          ...(NextToken ? { NextToken } : {}),
        }),
      );
      for (const rule of page.Rules ?? []) if (rule.Name) names.push(rule.Name);
      NextToken = page.NextToken;
    } while (NextToken);
    return names;
  }

  /** Makes the rules exactly the enabled triggers' (after lost stream records, or a restore). */
  async reconcile(triggers: readonly Trigger[]): Promise<{ put: number; removed: number }> {
    const wanted = triggers.filter((trigger) => trigger.enabled);
    const keep = new Set(wanted.map((trigger) => this.ruleName(trigger.id)));
    for (const trigger of wanted) await this.put(trigger);
    const stale = (await this.list()).filter((name) => !keep.has(name));
    for (const name of stale) await this.removeRule(name);
    return { put: wanted.length, removed: stale.length };
  }

  private async removeRule(Name: string): Promise<void> {
    const EventBusName = this.options.busName;
    try {
      await this.client.send(
        new RemoveTargetsCommand({ Rule: Name, EventBusName, Ids: [TARGET_ID], Force: false }),
      );
      await this.client.send(new DeleteRuleCommand({ Name, EventBusName }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}
