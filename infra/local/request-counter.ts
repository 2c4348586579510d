import { AsyncLocalStorage } from "node:async_hooks";
import type { InitializeMiddleware, MiddlewareStack } from "@smithy/types";

/** Any AWS SDK v3 client. */
interface SdkClient<Input extends object, Output extends object> {
  readonly middlewareStack: MiddlewareStack<Input, Output>;
}

export interface RequestCounter {
  /** Counts every command sent through this client (or a document client sharing its stack). */
  attach<Input extends object, Output extends object>(client: SdkClient<Input, Output>): void;
  /** Calls so far, keyed "Service.Command" (for example "DynamoDB.PutItem"). */
  snapshot(): Record<string, number>;
  reset(): void;
}

let counters = 0;

/**
 * Counts AWS SDK calls per service and command, for benchmarks that estimate billable requests.
 * The middleware sits in the initialize step, so each `send` counts once whatever the SDK retries.
 */
export function createRequestCounter(): RequestCounter {
  const name = `requestCounter${++counters}`;
  let counts = new Map<string, number>();

  function counting<I extends object, O extends object>(): InitializeMiddleware<I, O> {
    return (next, context) => (args) => {
      const service = (context.clientName ?? "Unknown").replace(/Client$/, "");
      const command = (context.commandName ?? "Unknown").replace(/Command$/, "");
      const key = `${service}.${command}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return next(args);
    };
  }

  return {
    attach(client) {
      client.middlewareStack.add(counting(), { step: "initialize", name });
    },
    snapshot: () => Object.fromEntries(counts),
    reset() {
      counts = new Map();
    },
  };
}

/**
 * The local function an SDK call is made for. Entered where local mode creates a function's
 * invocation context (`enterInvocation`), so every call the handler makes, and the calls its
 * event source mapping makes for it afterwards (GetRecords, ReceiveMessage…, which Lambda makes
 * with the function's role), carry the function's name.
 */
export const invocationScope = new AsyncLocalStorage<string>();

/** Marks the rest of this execution (and what it starts) as the function `name`'s. */
export function enterInvocation(name: string): void {
  invocationScope.enterWith(name);
}

/** One SDK call: the function it was made for, `Service.Command`, and its input. */
export interface RecordedCall {
  readonly fn: string;
  readonly command: string;
  readonly input: Record<string, unknown>;
}

export interface CommandRecorder {
  attach<Input extends object, Output extends object>(client: SdkClient<Input, Output>): void;
  /** Calls made inside an invocation (runtime set-up and test clients are not). */
  calls(): readonly RecordedCall[];
}

/** Records every SDK call made for a local function (see invocationScope), with its input. */
export function createCommandRecorder(): CommandRecorder {
  const name = `commandRecorder${++counters}`;
  const calls: RecordedCall[] = [];
  function recording<I extends object, O extends object>(): InitializeMiddleware<I, O> {
    return (next, context) => (args) => {
      const fn = invocationScope.getStore();
      if (fn !== undefined) {
        const service = (context.clientName ?? "Unknown").replace(/Client$/, "");
        const command = (context.commandName ?? "Unknown").replace(/Command$/, "");
        calls.push({
          fn,
          command: `${service}.${command}`,
          input: args.input as Record<string, unknown>,
        });
      }
      return next(args);
    };
  }
  return {
    attach(client) {
      client.middlewareStack.add(recording(), { step: "initialize", name });
    },
    calls: () => calls,
  };
}
