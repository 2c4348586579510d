/**
 * Evaluates triggers the way EventBridge rules do (R17): each enabled trigger's condition is
 * compiled to the same event pattern the cloud rule holds, and matched with the same semantics.
 */
import { triggers as triggerType } from "../config/entities.ts";
import type { ConfigService } from "../config/service.ts";
import { triggerInput } from "../model/schemas.ts";
import { type ActionPorts, runActions, type Trigger, type TriggerRun } from "./actions.ts";
import { compileCondition } from "./condition.ts";
import { matchesPattern } from "./pattern.ts";
import type { DeliveredEvent } from "./template.ts";

/** A stored trigger as the config service presents it, validated again (it may come from a peer). */
export function parseTrigger(view: Record<string, unknown>): Trigger | undefined {
  const { id, version: _version, updatedAt: _updatedAt, ...config } = view;
  const parsed = triggerInput.safeParse(config);
  return parsed.success && typeof id === "string" ? { ...parsed.data, id } : undefined;
}

/** Every live trigger of a server, all pages; triggers that no longer validate are skipped. */
export async function loadTriggers(config: Pick<ConfigService, "list">): Promise<Trigger[]> {
  const found: Trigger[] = [];
  let cursor: string | undefined;
  do {
    const page = await config.list(triggerType, undefined, {
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    for (const view of page.items) {
      const trigger = parseTrigger(view);
      if (trigger) found.push(trigger);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return found;
}

/** Whether the trigger's rule would deliver this event: enabled, and its pattern matches. */
export function triggerMatches(trigger: Trigger, event: DeliveredEvent): boolean {
  if (!trigger.enabled || trigger.event !== event["detail-type"]) return false;
  try {
    return matchesPattern(compileCondition(trigger.condition), event);
  } catch {
    return false; // a condition that can never hold (rejected on write; a peer might send one)
  }
}

export interface TriggerEngineDeps extends ActionPorts {
  /** The server's triggers, read on each event so changes apply at once. */
  readonly triggers: () => Promise<Trigger[]>;
  /** Where each run's outcome goes (status, logs, metrics). */
  readonly record: (run: TriggerRun) => void;
}

/** One region's rules on its bus: on each event, run the actions of every trigger that matches. */
export class TriggerEngine {
  /** EventBridge delivers at least once: the same event never runs a trigger twice. */
  private readonly handled = new Set<string>();

  constructor(private readonly deps: TriggerEngineDeps) {}

  async handle(event: DeliveredEvent): Promise<TriggerRun[]> {
    const matching = (await this.deps.triggers()).filter((trigger) => {
      if (!triggerMatches(trigger, event)) return false;
      const key = `${event.id}\n${trigger.id}`;
      if (this.handled.has(key)) return false;
      this.handled.add(key);
      if (this.handled.size > 10_000) {
        const [oldest] = this.handled;
        if (oldest !== undefined) this.handled.delete(oldest);
      }
      return true;
    });
    return Promise.all(
      matching.map(async (trigger) => {
        const run = await runActions(trigger, event, this.deps);
        this.deps.record(run);
        return run;
      }),
    );
  }
}
