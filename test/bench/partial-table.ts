import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * `npx tsx test/bench/partial-table.ts [--write]`: the README's table of the partial-sync
 * benchmark, from the runs in test/bench/results/partial.json (ranges over the runs kept).
 * With `--write`, replaces the table between the README's `partial-bench` markers.
 */
const here = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(here, "results", "partial.json");
const README = join(here, "..", "..", "README.md");
const BEGIN = "<!-- partial-bench:begin (npx tsx test/bench/partial-table.ts --write) -->";
const END = "<!-- partial-bench:end -->";

interface Timing {
  readonly ms: number;
  readonly perSecond: number;
  readonly writeUnitsPerItem: number;
}

interface Run {
  readonly setup: {
    readonly cores: number;
    readonly changes: number;
    readonly loadAverage: { readonly before: number; readonly after: number };
  };
  readonly baselines: Record<"batchWrite" | "conditionalBatch" | "conditionalOneByOne", Timing>;
  readonly ladder: Record<
    "createsInsertFirst" | "createsUpdateFirst" | "updatesInsertFirst" | "updatesUpdateFirst",
    Timing
  >;
  readonly burst: {
    readonly perSecond: number;
    readonly ofBatchWritePercent: number;
    readonly ofConditionalPercent: number;
    readonly httpHopP50Ms: number | null;
  };
  readonly lag: { readonly ratePerSecond: number; readonly p50Ms: number; readonly p99Ms: number };
  readonly catchUp: {
    readonly backlog: number;
    readonly perSecond: number;
    readonly arrivalPerSecond: number;
    readonly timesArrival: number;
    readonly forwardCycleMs: number;
    readonly receiveP50Ms: number;
    readonly receiveLoopCapPerSecond: number;
  };
  readonly perChange: {
    readonly sqsRequests: number;
    readonly httpCalls: number;
    readonly dynamoWriteUnits: { readonly sending: number; readonly receiving: number };
    readonly dynamoReadUnits: { readonly sending: number; readonly receiving: number };
    readonly lambdaInvocations: Record<string, number>;
  };
  readonly dollarsPerMillion: Record<string, number>;
}

/** `a–b` over the runs (one value when they agree), with `digits` decimals. */
function range(runs: readonly Run[], pick: (run: Run) => number | null, digits = 0): string {
  const values = runs.map(pick).filter((value): value is number => value !== null);
  if (values.length === 0) return "–";
  const low = Math.min(...values).toFixed(digits);
  const high = Math.max(...values).toFixed(digits);
  return low === high ? low : `${low}–${high}`;
}

export function table(runs: readonly Run[]): string {
  const r = (pick: (run: Run) => number | null, digits = 0) => range(runs, pick, digits);
  const invocations = (run: Run) =>
    Object.values(run.perChange.lambdaInvocations).reduce((a, b) => a + b, 0);
  const rows: [string, string, string][] = [
    [
      "throughput, burst of 5,000",
      `${r((run) => run.burst.perSecond)} changes/s = **${r((run) => run.burst.ofBatchWritePercent)} %** of the ${r((run) => run.baselines.batchWrite.perSecond)}/s \`BatchWriteItem\` baseline, **${r((run) => run.burst.ofConditionalPercent)} %** of the ${r((run) => run.baselines.conditionalBatch.perSecond)}/s conditional-write floor`,
      "≥ 30 % of `BatchWriteItem`",
    ],
    [
      "conditional writes straight into the table",
      `batched PartiQL ${r((run) => run.baselines.conditionalBatch.perSecond)}/s; one \`UpdateItem\` each (the receiver before) ${r((run) => run.baselines.conditionalOneByOne.perSecond)}/s`,
      "—",
    ],
    [
      "catch-up after a held backlog",
      `${r((run) => run.catchUp.perSecond)} changes/s = **${r((run) => run.catchUp.timesArrival, 1)}×** the ${r((run) => run.catchUp.arrivalPerSecond)}/s arrival rate (${r((run) => run.catchUp.backlog)} held)`,
      "≥ 10× (R24 drill)",
    ],
    [
      "where a batch's time goes (catch-up)",
      `${r((run) => run.catchUp.forwardCycleMs)} ms per batch of 10 (4 side by side), of which the HTTP hop to the receiver ${r((run) => run.burst.httpHopP50Ms)} ms (p50); the local source's one poller receives twice per batch (${r((run) => run.catchUp.receiveP50Ms)} ms each): at most ${r((run) => run.catchUp.receiveLoopCapPerSecond)} changes/s`,
      "—",
    ],
    [
      `lag at ${r((run) => run.lag.ratePerSecond)} changes/s`,
      `p50 **${r((run) => run.lag.p50Ms / 1000, 2)} s**, p99 **${r((run) => run.lag.p99Ms / 1000, 2)} s**`,
      "p99 ≤ 1.5 s",
    ],
    ["SQS requests per change", `**${r((run) => run.perChange.sqsRequests, 2)}**`, "≤ 1.5"],
    [
      "HTTP calls (and events) per change",
      `**${r((run) => run.perChange.httpCalls, 2)}** (HTTP hop p50 ${r((run) => run.burst.httpHopP50Ms)} ms)`,
      "≤ 0.2",
    ],
    [
      "DynamoDB write units per change",
      `**${r((run) => run.perChange.dynamoWriteUnits.receiving, 2)}** receiving + ${r((run) => run.perChange.dynamoWriteUnits.sending, 2)} sending (batch record)`,
      "≤ 1.1",
    ],
    [
      "DynamoDB read units per change",
      `${r((run) => run.perChange.dynamoReadUnits.receiving, 2)} receiving + ${r((run) => run.perChange.dynamoReadUnits.sending, 2)} sending`,
      "—",
    ],
    [
      "Lambda invocations per change",
      `${r(invocations, 3)} (capture ${r((run) => run.perChange.lambdaInvocations.capture ?? 0, 3)}, forward ${r((run) => run.perChange.lambdaInvocations.forward ?? 0, 3)}, receive ${r((run) => run.perChange.lambdaInvocations.receive ?? 0, 3)}, failover's capture ${r((run) => run.perChange.lambdaInvocations.failoverCapture ?? 0, 3)})`,
      "—",
    ],
    [
      "$ per million changes",
      `**$${r((run) => run.dollarsPerMillion.total ?? 0, 2)}**: DynamoDB ${r((run) => run.dollarsPerMillion.dynamoReceiving ?? 0, 2)} receiving + ${r((run) => run.dollarsPerMillion.dynamoSending ?? 0, 2)} sending, SQS ${r((run) => run.dollarsPerMillion.sqs ?? 0, 2)}, HTTP API ${r((run) => run.dollarsPerMillion.httpApi ?? 0, 2)}, EventBridge ${r((run) => run.dollarsPerMillion.eventBridge ?? 0, 2)}, Lambda ${r((run) => run.dollarsPerMillion.lambda ?? 0, 2)}`,
      "≤ $1.0",
    ],
  ];
  const ladder = (name: keyof Run["ladder"]) =>
    `${r((run) => run.ladder[name].perSecond)}/s, ${r((run) => run.ladder[name].writeUnitsPerItem, 1)} statements each`;
  return [
    "| measure | result | goal |",
    "|---|---|---|",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
    "Which conditional statement to try first (straight into the table, 5,000 items each):",
    "",
    "| items | INSERT first | UPDATE first |",
    "|---|---|---|",
    `| new | ${ladder("createsInsertFirst")} | ${ladder("createsUpdateFirst")} |`,
    `| existing, newer | ${ladder("updatesInsertFirst")} | ${ladder("updatesUpdateFirst")} |`,
  ].join("\n");
}

const { runs } = JSON.parse(await readFile(RESULTS, "utf8")) as { runs: Run[] };
const most = (pick: (run: Run) => number) => Math.max(...runs.map(pick)).toFixed(1);
const markdown = `${table(runs)}\n\n(${runs.length} run${runs.length === 1 ? "" : "s"} on ${runs[0]?.setup.cores ?? "?"} cores, ranges over the runs; 1-minute load average at most ${most((run) => run.setup.loadAverage.before)} before a run and ${most((run) => run.setup.loadAverage.after)} at its end, the benchmark's own included.)`;
if (process.argv.includes("--write")) {
  const readme = await readFile(README, "utf8");
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no ${BEGIN} … ${END} section`);
  await writeFile(
    README,
    `${readme.slice(0, begin + BEGIN.length)}\n${markdown}\n${readme.slice(end)}`,
  );
  console.log("README.md table written");
} else console.log(markdown);
