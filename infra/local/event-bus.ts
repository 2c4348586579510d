import { randomUUID } from "node:crypto";
import { matchesPattern } from "../../shared/events/pattern.ts";
import type { EventPublisher } from "../../shared/ports.ts";
import type { SyncEvent } from "../../shared/sync/events.ts";

/** An event as EventBridge delivers it to a rule's target. */
export interface BusEvent extends SyncEvent {
  readonly version: "0";
  readonly id: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
}

/**
 * Plays one region's EventBridge bus: keeps what was published (for status and tests) and
 * hands each event to the listeners (trigger rules subscribe here).
 */
export class LocalEventBus implements EventPublisher {
  private readonly published: BusEvent[] = [];
  private readonly listeners: ((event: BusEvent) => Promise<void>)[] = [];

  constructor(private readonly region: string) {}

  async publish(event: SyncEvent): Promise<void> {
    const delivered: BusEvent = {
      version: "0",
      id: randomUUID(),
      account: "000000000000",
      time: new Date().toISOString(),
      region: this.region,
      resources: [],
      ...event,
    };
    this.published.push(delivered);
    // EventBridge delivers asynchronously: a slow or failing target never blocks the publisher.
    for (const listener of this.listeners) void listener(delivered).catch(() => {});
  }

  subscribe(listener: (event: BusEvent) => Promise<void>): void {
    this.listeners.push(listener);
  }

  events(): readonly BusEvent[] {
    return this.published;
  }
}

/** A rule's target as PutTargets stores it (the fields local mode acts on). */
interface StoredTarget {
  readonly Id: string;
  readonly Arn: string;
  readonly Input?: string;
  readonly InputTransformer?: {
    readonly InputPathsMap?: Record<string, string>;
    readonly InputTemplate: string;
  };
}

interface StoredRule {
  readonly Name: string;
  readonly EventBusName: string;
  readonly EventPattern: string;
  readonly State: "ENABLED" | "DISABLED";
  readonly Description?: string;
  readonly targets: Map<string, StoredTarget>;
}

/** A Lambda function a rule can target, by ARN: invoked with the target's input. */
export type LocalFunction = (input: unknown) => Promise<void>;

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** ListRules' page size (EventBridge's maximum Limit). */
const LIST_PAGE = 100;

/**
 * Local mode's EventBridge rules API for one bus: the rules and targets that the trigger-rules
 * function makes with its real EventBridge client (`requestHandler` answers the JSON protocol in
 * process), and their delivery: each event the bus publishes is matched against every enabled
 * rule's pattern (shared/events/pattern.ts) and each target's input is built as EventBridge
 * builds it (input transformer, `Input`, or the event) and handed to the function of its ARN.
 */
export class LocalEventRules {
  private readonly rules = new Map<string, StoredRule>();
  private readonly functions = new Map<string, LocalFunction>();

  constructor(
    /** The bus name the rules live on (EventBusName). */
    readonly busName: string,
    private readonly arnPrefix: string,
    private readonly onError: (error: unknown, target: string) => void,
  ) {}

  /** Makes `arn` invocable by rule targets. */
  addFunction(arn: string, invoke: LocalFunction): void {
    this.functions.set(arn, invoke);
  }

  /** The rules now on the bus (`GET /_local/trigger-rules`, tests waiting for a rule). */
  list(): { name: string; pattern: unknown; state: string; targets: string[] }[] {
    return [...this.rules.values()].map((rule) => ({
      name: rule.Name,
      pattern: JSON.parse(rule.EventPattern),
      state: rule.State,
      targets: [...rule.targets.values()].map((target) => target.Arn),
    }));
  }

  /**
   * Where `event` goes: each target of every enabled rule whose pattern it matches, with the
   * input EventBridge would send it (built when asked: a target it cannot build fails alone).
   */
  targetsOf(event: BusEvent): { arn: string; input: () => unknown }[] {
    return [...this.rules.values()]
      .filter(
        (rule) => rule.State === "ENABLED" && matchesPattern(JSON.parse(rule.EventPattern), event),
      )
      .flatMap((rule) => {
        const arn = `${this.arnPrefix}rule/${rule.EventBusName}/${rule.Name}`;
        return [...rule.targets.values()].map((target) => ({
          arn: target.Arn,
          input: () => targetInput(target, { ...rule, arn }, event),
        }));
      });
  }

  /** Delivers one event to the targets of every enabled rule that matches it; never throws. */
  async deliver(event: BusEvent): Promise<void> {
    await Promise.all(
      this.targetsOf(event).map(async (target) => {
        try {
          const invoke = this.functions.get(target.arn);
          if (!invoke) throw new Error(`no local function ${target.arn}`);
          await invoke(target.input());
        } catch (error) {
          this.onError(error, target.arn);
        }
      }),
    );
  }

  /** An EventBridge client's request handler: answers the rule operations in process. */
  readonly requestHandler = {
    handle: async (request: {
      headers: Record<string, string>;
      body?: unknown;
    }): Promise<{ response: LocalHttpResponse }> => {
      const target = Object.entries(request.headers).find(
        ([name]) => name.toLowerCase() === "x-amz-target",
      )?.[1];
      const operation = target?.replace(/^AWSEvents\./, "") ?? "";
      const text =
        request.body instanceof Uint8Array
          ? new TextDecoder().decode(request.body)
          : String(request.body ?? "{}");
      try {
        const output = this.operate(operation, JSON.parse(text || "{}"));
        return { response: jsonResponse(200, output) };
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        return { response: jsonResponse(400, { __type: error.type, message: error.message }) };
      }
    },
  };

  private operate(operation: string, input: Record<string, unknown>): unknown {
    const bus = typeof input.EventBusName === "string" ? input.EventBusName : "default";
    if (bus !== this.busName) {
      throw new ApiError("ResourceNotFoundException", `Event bus ${bus} does not exist.`);
    }
    const key = (name: unknown) => `${bus}/${String(name)}`;
    const existing = (name: unknown) => {
      const rule = this.rules.get(key(name));
      if (!rule) {
        throw new ApiError("ResourceNotFoundException", `Rule ${String(name)} does not exist.`);
      }
      return rule;
    };
    switch (operation) {
      case "PutRule": {
        const name = String(input.Name);
        const pattern = String(input.EventPattern);
        JSON.parse(pattern); // EventBridge rejects a pattern that is not JSON.
        this.rules.set(key(name), {
          Name: name,
          EventBusName: bus,
          EventPattern: pattern,
          State: input.State === "DISABLED" ? "DISABLED" : "ENABLED",
          ...(typeof input.Description === "string" ? { Description: input.Description } : {}),
          targets: this.rules.get(key(name))?.targets ?? new Map(),
        });
        return { RuleArn: `${this.arnPrefix}rule/${bus}/${name}` };
      }
      case "PutTargets": {
        const rule = existing(input.Rule);
        for (const target of input.Targets as StoredTarget[]) rule.targets.set(target.Id, target);
        return { FailedEntryCount: 0, FailedEntries: [] };
      }
      case "RemoveTargets": {
        const rule = existing(input.Rule);
        for (const id of input.Ids as string[]) rule.targets.delete(id);
        return { FailedEntryCount: 0, FailedEntries: [] };
      }
      case "DeleteRule": {
        const rule = this.rules.get(key(input.Name));
        if (rule && rule.targets.size > 0) {
          throw new ApiError("ValidationException", "Rule can't be deleted since it has targets.");
        }
        this.rules.delete(key(input.Name));
        return {};
      }
      case "ListRules": {
        const prefix = typeof input.NamePrefix === "string" ? input.NamePrefix : "";
        const names = [...this.rules.values()]
          .filter((rule) => rule.Name.startsWith(prefix))
          .map((rule) => rule.Name)
          .sort();
        const start = typeof input.NextToken === "string" ? Number(input.NextToken) : 0;
        const page = names.slice(start, start + LIST_PAGE);
        const next = start + LIST_PAGE < names.length ? String(start + LIST_PAGE) : undefined;
        return {
          Rules: page.map((name) => {
            const rule = existing(name);
            return {
              Name: rule.Name,
              Arn: `${this.arnPrefix}rule/${bus}/${rule.Name}`,
              EventPattern: rule.EventPattern,
              State: rule.State,
              EventBusName: bus,
            };
          }),
          ...(next ? { NextToken: next } : {}),
        };
      }
      default:
        throw new ApiError("UnknownOperationException", `${operation} is not served locally`);
    }
  }
}

interface LocalHttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

const jsonResponse = (statusCode: number, body: unknown): LocalHttpResponse => ({
  statusCode,
  headers: { "content-type": "application/x-amz-json-1.1" },
  body: new TextEncoder().encode(JSON.stringify(body)),
});

/**
 * The input EventBridge sends a target: its input transformer's template with the event's
 * predefined variables (`<aws.events.event.json>`, the whole event as JSON, and the rule's
 * name) filled in, its constant `Input`, or else the event itself.
 */
function targetInput(
  target: StoredTarget,
  rule: StoredRule & { readonly arn: string },
  event: BusEvent,
): unknown {
  if (target.Input !== undefined) return JSON.parse(target.Input);
  const transformer = target.InputTransformer;
  if (!transformer) return event;
  if (Object.keys(transformer.InputPathsMap ?? {}).length > 0) {
    throw new Error("InputPathsMap is not served locally (the trigger rules use none)");
  }
  const filled = transformer.InputTemplate.replaceAll(
    "<aws.events.event.json>",
    JSON.stringify(event),
  )
    .replaceAll("<aws.events.rule-name>", rule.Name)
    .replaceAll("<aws.events.rule-arn>", rule.arn);
  return JSON.parse(filled);
}
