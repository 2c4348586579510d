import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { describe, expect, it } from "vitest";
import { LocalEventBus, LocalEventRules } from "../../infra/local/event-bus.ts";
import { TriggerRules } from "../../shared/adapters/eventbridge-trigger-rules.ts";
import type { Trigger } from "../../shared/events/actions.ts";
import { triggerInput } from "../../shared/model/schemas.ts";
import { syncEvent } from "../../shared/sync/events.ts";

// Local mode's EventBridge rules: the trigger-rules function's own TriggerRules and SDK client
// make the rules (only the transport is in process), and a published event reaches a rule's
// target with the input the rule's input transformer builds: `{triggerId, event}`.

const ACTIONS = "arn:aws:lambda:local-primary:000000000000:function:mft-production-trigger-actions";

function setup() {
  const errors: unknown[] = [];
  const local = new LocalEventRules("mft-production-bus", "arn:aws:events:local:0:", (error) =>
    errors.push(error),
  );
  const inputs: unknown[] = [];
  local.addFunction(ACTIONS, async (input) => {
    inputs.push(input);
  });
  const client = new EventBridgeClient({
    region: "local-primary",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    endpoint: "http://eventbridge.local",
    requestHandler: local.requestHandler as never,
  });
  const rules = new TriggerRules(client, {
    busName: "mft-production-bus",
    actionsFunctionArn: ACTIONS,
    rulePrefix: "mft-trigger-",
  });
  const bus = new LocalEventBus("local-primary");
  bus.subscribe((event) => local.deliver(event));
  return { local, rules, bus, inputs, errors };
}

const trigger = (id: string, body: Record<string, unknown> = {}): Trigger => ({
  ...triggerInput.parse({
    event: "Failover Synchronization",
    actions: [{ type: "email", to: ["ops@example.com"], subject: "s" }],
    ...body,
  }),
  id,
});

const detail = (Success: boolean) => ({
  Success,
  Mode: "automatic" as const,
  Primary: "p",
  Failover: "f",
  StartedAt: "2026-01-01T00:00:00.000Z",
  FinishedAt: "2026-01-01T00:00:01.000Z",
  Items: 2,
});

describe("local EventBridge rules (what trigger-rules makes, what trigger-actions receives)", () => {
  it("delivers a matching event to the target as {triggerId, event}, the whole event as published", async () => {
    const { local, rules, bus, inputs } = setup();
    await rules.put(
      trigger("on-failure", { condition: { variable: "Success", op: "==", value: false } }),
    );
    expect(local.list()).toEqual([
      {
        name: "mft-trigger-on-failure",
        pattern: {
          source: ["mft.failover"],
          "detail-type": ["Failover Synchronization"],
          detail: { Success: [false] },
        },
        state: "ENABLED",
        targets: [ACTIONS],
      },
    ]);

    await bus.publish(syncEvent(detail(true)));
    await bus.publish(syncEvent(detail(false)));
    await new Promise((resolve) => setImmediate(resolve));

    const failed = bus.events()[1];
    expect(inputs).toEqual([{ triggerId: "on-failure", event: failed }]);
    expect(failed).toMatchObject({
      version: "0",
      source: "mft.failover",
      "detail-type": "Failover Synchronization",
      region: "local-primary",
      detail: detail(false),
    });
  });

  it("removes a rule (targets first) and lists more than a page of rules for reconcile", async () => {
    const { local, rules, bus, inputs } = setup();
    const many = Array.from({ length: 130 }, (_, i) => trigger(`t${String(i).padStart(3, "0")}`));
    expect(await rules.reconcile(many)).toEqual({ put: 130, removed: 0 });
    expect(await rules.list()).toHaveLength(130);

    // Half of them disabled: reconcile deletes their rules, found through ListRules' pages.
    const kept = many.map((t, i) => (i % 2 === 0 ? t : { ...t, enabled: false }));
    expect(await rules.reconcile(kept)).toEqual({ put: 65, removed: 65 });
    expect(local.list().map((rule) => rule.name)).toHaveLength(65);

    await rules.remove("t000");
    await rules.remove("t000"); // already gone: fine, as with EventBridge's ResourceNotFound
    expect(local.list().map((rule) => rule.name)).not.toContain("mft-trigger-t000");

    await bus.publish(syncEvent(detail(true)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(inputs).toHaveLength(64);
  });

  it("reports a target it cannot invoke, and never a rule on another bus", async () => {
    const { local, bus, errors } = setup();
    const client = new EventBridgeClient({
      region: "local-primary",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      endpoint: "http://eventbridge.local",
      requestHandler: local.requestHandler as never,
    });
    const elsewhere = new TriggerRules(client, {
      busName: "another-bus",
      actionsFunctionArn: ACTIONS,
      rulePrefix: "mft-trigger-",
    });
    await expect(elsewhere.put(trigger("x"))).rejects.toThrow(/another-bus does not exist/);

    const unknown = new TriggerRules(client, {
      busName: "mft-production-bus",
      actionsFunctionArn: `${ACTIONS}-gone`,
      rulePrefix: "mft-trigger-",
    });
    await unknown.put(trigger("y"));
    await bus.publish(syncEvent(detail(true)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([new Error(`no local function ${ACTIONS}-gone`)]);
  });
});
