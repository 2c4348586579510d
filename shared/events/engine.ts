/**
 * Stored triggers as the trigger functions read them (R17), and whether a trigger's rule would
 * deliver an event: its condition compiled to the pattern the rule holds, matched with
 * EventBridge's semantics (trigger-actions checks it again, as a rule may lag a change).
 */
import { triggers as triggerType } from "../config/entities.ts";
import type { ConfigService } from "../config/service.ts";
import { triggerInput } from "../model/schemas.ts";
import type { Trigger } from "./actions.ts";
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
