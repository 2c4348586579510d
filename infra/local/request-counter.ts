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
