import { spawn } from "node:child_process";

/** What one phase of a benchmark did to the process's memory. */
export interface PhaseMemory {
  /** The process's peak resident set during the phase. */
  peakRssMb: number;
  /** The JavaScript heap still in use at the end of the phase, after a full GC. */
  heapAfterGcMb: number;
}

/**
 * Runs `script --child <size>` in a fresh Node process (with `--expose-gc`), so its peak RSS is
 * its own, and resolves with the JSON the child prints last on stdout.
 */
export function inChild<T>(script: string, size: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--expose-gc", "--import", "tsx", script, "--child", String(size)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0) reject(new Error(`benchmark child exited ${code}`));
      else resolve(JSON.parse(line) as T);
    });
  });
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * Samples RSS every 50 ms; `phase()` returns the peak since the last call and the heap that a
 * full GC leaves (what the run holds on to, as opposed to garbage not yet collected).
 */
export function memorySampler() {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return {
    phase(): PhaseMemory {
      const peakRssMb = mb(Math.max(peak, process.memoryUsage().rss));
      globalThis.gc?.();
      peak = 0;
      return { peakRssMb, heapAfterGcMb: mb(process.memoryUsage().heapUsed) };
    },
    stop: () => clearInterval(timer),
  };
}

/** The size to run when this file was started as a benchmark's child process, if it was. */
export function childSize(script: string): number | undefined {
  const index = process.argv.indexOf("--child");
  return index > 0 && process.argv[1] === script ? Number(process.argv[index + 1]) : undefined;
}

/** Estimated DynamoDB capacity units (items under 1 KB), as an on-demand bill would count them. */
export interface Capacity {
  writeUnits: number;
  readUnits: number;
}

/** A command's input, as far as capacity goes. */
interface CommandInput {
  readonly TableName?: string;
  readonly Statements?: readonly { readonly Statement?: string }[];
  readonly RequestItems?: Record<string, readonly unknown[]>;
  readonly TransactItems?: readonly unknown[];
}

/**
 * Write and read units per command, for items under 1 KB: each PartiQL statement of a batch is
 * one write (a refused conditional write is billed too), `TransactWriteItems` two per item, a
 * Query or Scan page is counted as one read (pages of small items; DynamoDB Local reports no
 * consumed capacity, so this is an estimate).
 */
export function capacityOf(command: string, input: CommandInput): Capacity {
  const statements = input.Statements ?? [];
  const reads = statements.filter(({ Statement }) => /^\s*select/i.test(Statement ?? "")).length;
  const batchItems = Object.values(input.RequestItems ?? {}).reduce(
    (sum, items) => sum + items.length,
    0,
  );
  switch (command) {
    case "PutItem":
    case "UpdateItem":
    case "DeleteItem":
    case "ExecuteStatement":
      return { writeUnits: 1, readUnits: 0 };
    case "BatchWriteItem":
      return { writeUnits: batchItems, readUnits: 0 };
    case "TransactWriteItems":
      return { writeUnits: 2 * (input.TransactItems?.length ?? 0), readUnits: 0 };
    case "BatchExecuteStatement":
      return { writeUnits: statements.length - reads, readUnits: reads };
    case "GetItem":
    case "Query":
    case "Scan":
      return { writeUnits: 0, readUnits: 1 };
    case "BatchGetItem":
      return { writeUnits: 0, readUnits: batchItems };
    default:
      return { writeUnits: 0, readUnits: 0 };
  }
}

/** A DynamoDB client, as far as counting goes. */
export interface CountableClient {
  readonly config: { region: () => Promise<string> };
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: { input: object }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: object }) => Promise<unknown>,
      options: { step: "initialize"; name: string },
    ): void;
  };
}

let capacityCounters = 0;

/**
 * The key a call's units are counted under: its client's region, with `/history` for the
 * history tables (`mft-<region>-history`, R26), so that history's cost shows apart.
 */
function capacityKey(region: string, input: CommandInput): string {
  const table = input.TableName ?? Object.keys(input.RequestItems ?? {})[0] ?? "";
  return table.endsWith("-history") ? `${region}/history` : region;
}

/**
 * Counts estimated DynamoDB capacity per client region (`capacityOf`), once per `send`; the
 * history tables' under `<region>/history`.
 */
export function createCapacityCounter() {
  const name = `capacityCounter${++capacityCounters}`;
  let counts = new Map<string, Capacity>();
  return {
    attach(client: CountableClient) {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const region = await client.config.region();
          const command = (context.commandName ?? "").replace(/Command$/, "");
          const units = capacityOf(command, args.input as CommandInput);
          const key = capacityKey(region, args.input as CommandInput);
          const total = counts.get(key) ?? { writeUnits: 0, readUnits: 0 };
          counts.set(key, {
            writeUnits: total.writeUnits + units.writeUnits,
            readUnits: total.readUnits + units.readUnits,
          });
          return next(args);
        },
        { step: "initialize", name },
      );
    },
    /** Units so far, per region. */
    snapshot: (): Record<string, Capacity> => Object.fromEntries(counts),
    reset() {
      counts = new Map();
    },
  };
}

let latencyRecorders = 0;

/** Records how long each `send` of the given commands takes ("ReceiveMessage", …), retries included. */
export function createLatencyRecorder(commands: readonly string[]) {
  const name = `latencyRecorder${++latencyRecorders}`;
  let samples = new Map<string, number[]>();
  return {
    attach(client: Pick<CountableClient, "middlewareStack">) {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const command = (context.commandName ?? "").replace(/Command$/, "");
          if (!commands.includes(command)) return next(args);
          const started = performance.now();
          try {
            return await next(args);
          } finally {
            samples.set(command, [...(samples.get(command) ?? []), performance.now() - started]);
          }
        },
        { step: "initialize", name },
      );
    },
    /** The durations so far (ms), per command. */
    samples: (command: string) => samples.get(command) ?? [],
    reset() {
      samples = new Map();
    },
  };
}

/** SQS bills a request per 64 KB chunk of its payload. */
export const SQS_CHUNK_BYTES = 64 * 1024;

interface SqsPayload {
  readonly MessageBody?: string;
  readonly Entries?: readonly { readonly MessageBody?: string }[];
  readonly Messages?: readonly { readonly Body?: string }[];
}

/** The payload bytes of an SQS call: the bodies it sends, or the bodies a receive returns. */
const sqsBytes = ({ MessageBody, Entries = [], Messages = [] }: SqsPayload) =>
  [MessageBody, ...Entries.map((entry) => entry.MessageBody), ...Messages.map((m) => m.Body)]
    .map((body) => Buffer.byteLength(body ?? ""))
    .reduce((sum, bytes) => sum + bytes, 0);

let sqsChunkCounters = 0;

/**
 * Billed SQS requests: each call is one request per started 64 KB of its payload (sent bodies
 * for sends, received bodies for receives), counted once per `send`.
 */
export function createSqsChunkCounter() {
  const name = `sqsChunkCounter${++sqsChunkCounters}`;
  let chunks = 0;
  return {
    attach(client: Pick<CountableClient, "middlewareStack">) {
      client.middlewareStack.add(
        (next) => async (args) => {
          const result = (await next(args)) as { output?: SqsPayload };
          const bytes = sqsBytes(args.input as SqsPayload) + sqsBytes(result.output ?? {});
          chunks += Math.max(1, Math.ceil(bytes / SQS_CHUNK_BYTES));
          return result;
        },
        { step: "initialize", name },
      );
    },
    billedRequests: () => chunks,
    reset() {
      chunks = 0;
    },
  };
}
