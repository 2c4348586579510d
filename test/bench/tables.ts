import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PhaseMemory } from "./measure.ts";
import { type Machine, RESULTS_DIR, readResults, resultsFile } from "./results.ts";

/**
 * `npm run bench:tables`: every benchmark table of docs/benchmarks.md, made from the latest
 * result files in test/bench/results/ (partial.json, verify.json, full-sync.json, rewind.json,
 * drill.json) and written between each table's `<!-- <name>-bench:begin … -->` and
 * `<!-- <name>-bench:end -->` markers. Without `--write` it prints them. A table whose results
 * file is missing is left as it is, and said so.
 */
const DOCS = join(RESULTS_DIR, "..", "..", "..", "docs", "benchmarks.md");

const thousands = (value: number) => value.toLocaleString("en-US");
const s = (ms: number, digits = 1) => `${(ms / 1000).toFixed(digits)} s`;
const ratio = (value: number) => `${value.toFixed(2)}×`;
/** `a–b`, or one value when they agree. */
const span = (values: readonly number[], digits = 0) => {
  const low = Math.min(...values).toFixed(digits);
  const high = Math.max(...values).toFixed(digits);
  return low === high ? low : `${low}–${high}`;
};

/** One line on the machine and the time of a run: figures only mean something next to it. */
function ranOn(at: string, machine: Machine): string {
  return `${at.slice(0, 16).replace("T", " ")} UTC, Node ${machine.node.replace(/^v/, "")}, ${machine.cores} cores (${machine.cpu}), 1-minute load average ${machine.loadAverage.start} at the start and ${machine.loadAverage.end} at the end`;
}

// ---- partial sync: ranges over the runs kept (test/bench/partial.ts) ----

interface Timing {
  readonly ms: number;
  readonly perSecond: number;
  readonly writeUnitsPerItem: number;
}

interface PartialRun {
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
    readonly ofConditionalPercent: number;
    readonly arrivalPerSecond: number;
    readonly timesArrival: number;
    readonly batchesInFlight: number;
    readonly changesPerForward: number;
    readonly forwardCycleMs: number;
    readonly receiveP50Ms: number;
    /** Absent in runs before the local source looked ahead: it received twice per batch then. */
    readonly receivesPerForward?: number;
    readonly receiveLoopCapPerSecond: number;
  };
  readonly perChange: {
    readonly sqsRequests: number;
    readonly sqsCalls: number;
    readonly httpCalls: number;
    readonly dynamoWriteUnits: {
      readonly sending: number;
      readonly receiving: number;
      /** Both servers' history tables (R26); absent in runs before history. */
      readonly history?: number;
    };
    readonly dynamoReadUnits: { readonly sending: number; readonly receiving: number };
    readonly lambdaInvocations: Record<string, number>;
    readonly lambdaBilledMs: Record<string, number>;
    readonly logBytes: number;
    readonly functionLogBytes: number;
    readonly xrayTraces: number;
  };
  readonly dollarsPerMillion: Record<string, number>;
  readonly historyDollarsPerMillion?: Record<string, number>;
}

/** `a–b` over the runs (one value when they agree), with `digits` decimals. */
function range(
  runs: readonly PartialRun[],
  pick: (run: PartialRun) => number | null,
  digits = 0,
): string {
  const values = runs.map(pick).filter((value): value is number => value !== null);
  if (values.length === 0) return "–";
  const low = Math.min(...values).toFixed(digits);
  const high = Math.max(...values).toFixed(digits);
  return low === high ? low : `${low}–${high}`;
}

function partialTable(runs: readonly PartialRun[]): string {
  const r = (pick: (run: PartialRun) => number | null, digits = 0) => range(runs, pick, digits);
  const invocations = (run: PartialRun) =>
    Object.values(run.perChange.lambdaInvocations).reduce((a, b) => a + b, 0);
  const billedMs = (run: PartialRun) =>
    Object.values(run.perChange.lambdaBilledMs).reduce((a, b) => a + b, 0);
  const rows: [string, string, string][] = [
    [
      "throughput, burst of 5,000",
      `${r((run) => run.burst.perSecond)} changes/s = **${r((run) => run.burst.ofBatchWritePercent)} %** of the ${r((run) => run.baselines.batchWrite.perSecond)}/s \`BatchWriteItem\` baseline, **${r((run) => run.burst.ofConditionalPercent)} %** of the ${r((run) => run.baselines.conditionalBatch.perSecond)}/s conditional-write floor`,
      "≥ 30 % of `BatchWriteItem`, ≥ 75 % of the floor",
    ],
    [
      "conditional writes straight into the table",
      `batched PartiQL ${r((run) => run.baselines.conditionalBatch.perSecond)}/s; one \`UpdateItem\` each ${r((run) => run.baselines.conditionalOneByOne.perSecond)}/s`,
      "—",
    ],
    [
      "catch-up after a held backlog",
      `${r((run) => run.catchUp.perSecond)} changes/s = **${r((run) => run.catchUp.ofConditionalPercent)} %** of the floor, **${r((run) => run.catchUp.timesArrival, 1)}×** the ${r((run) => run.catchUp.arrivalPerSecond)}/s arrival rate (${r((run) => run.catchUp.backlog)} held)`,
      "≥ 75 % of the floor, ≥ 10× (R24 drill)",
    ],
    [
      "where an invocation's time goes (catch-up)",
      `${r((run) => run.catchUp.forwardCycleMs)} ms per forward invocation of ${r((run) => run.catchUp.changesPerForward)} changes (${r((run) => run.catchUp.batchesInFlight)} side by side), of which the HTTP hop to the receiver ${r((run) => run.burst.httpHopP50Ms)} ms (p50, burst); the local source's one poller receives ${r((run) => run.catchUp.receivesPerForward ?? 2, 1)} times per batch (${r((run) => run.catchUp.receiveP50Ms)} ms each): at most ${r((run) => run.catchUp.receiveLoopCapPerSecond)} changes/s`,
      "—",
    ],
    [
      `lag at ${r((run) => run.lag.ratePerSecond)} changes/s`,
      `p50 **${r((run) => run.lag.p50Ms / 1000, 2)} s**, p99 **${r((run) => run.lag.p99Ms / 1000, 2)} s**`,
      "p99 ≤ 0.5 s",
    ],
    [
      "SQS requests per change (billed: per started 64 KB)",
      `**${r((run) => run.perChange.sqsRequests, 3)}** (${r((run) => run.perChange.sqsCalls, 3)} calls)`,
      "≤ 0.05",
    ],
    [
      "HTTP calls (and events) per change",
      `**${r((run) => run.perChange.httpCalls, 3)}** (HTTP hop p50 ${r((run) => run.burst.httpHopP50Ms)} ms)`,
      "≤ 0.02",
    ],
    [
      "DynamoDB write units per change",
      `**${r((run) => run.perChange.dynamoWriteUnits.receiving, 2)}** receiving + ${r((run) => run.perChange.dynamoWriteUnits.sending, 3)} sending (batch record)`,
      "—",
    ],
    [
      "DynamoDB read units per change",
      `${r((run) => run.perChange.dynamoReadUnits.receiving, 3)} receiving + ${r((run) => run.perChange.dynamoReadUnits.sending, 3)} sending`,
      "—",
    ],
    [
      "Lambda invocations per change",
      `**${r(invocations, 3)}** (capture ${r((run) => run.perChange.lambdaInvocations.capture ?? 0, 3)}, forward ${r((run) => run.perChange.lambdaInvocations.forward ?? 0, 3)}, receive ${r((run) => run.perChange.lambdaInvocations.receive ?? 0, 3)}, failover's capture ${r((run) => run.perChange.lambdaInvocations.failoverCapture ?? 0, 3)})`,
      "≤ 0.05",
    ],
    [
      "Lambda billed ms per change (measured here)",
      `${r(billedMs, 2)} (capture ${r((run) => run.perChange.lambdaBilledMs.capture ?? 0, 2)}, forward ${r((run) => run.perChange.lambdaBilledMs.forward ?? 0, 2)}, receive ${r((run) => run.perChange.lambdaBilledMs.receive ?? 0, 2)}, failover's capture ${r((run) => run.perChange.lambdaBilledMs.failoverCapture ?? 0, 2)})`,
      "—",
    ],
    [
      "log bytes per change",
      `${r((run) => run.perChange.logBytes, 1)} (of which the functions' own lines ${r((run) => run.perChange.functionLogBytes, 1)}); X-Ray traces ${r((run) => run.perChange.xrayTraces, 3)}`,
      "—",
    ],
    [
      "$ per million changes",
      `**$${r((run) => run.dollarsPerMillion.total ?? 0, 2)}**: DynamoDB ${r((run) => run.dollarsPerMillion.dynamoReceiving ?? 0, 2)} receiving + ${r((run) => run.dollarsPerMillion.dynamoSending ?? 0, 2)} sending, SQS ${r((run) => run.dollarsPerMillion.sqs ?? 0, 3)}, HTTP API ${r((run) => run.dollarsPerMillion.httpApi ?? 0, 3)}, EventBridge ${r((run) => run.dollarsPerMillion.eventBridge ?? 0, 3)}, Lambda ${r((run) => run.dollarsPerMillion.lambda ?? 0, 3)}, logs ${r((run) => run.dollarsPerMillion.logs ?? 0, 3)}, X-Ray ${r((run) => run.dollarsPerMillion.xray ?? 0, 3)}`,
      "≤ $0.80",
    ],
    [
      "history (R26), on top: both servers keep every change",
      `**+$${r((run) => run.historyDollarsPerMillion?.total ?? 0, 2)}** per million: ${r((run) => run.perChange.dynamoWriteUnits.history ?? 0, 2)} history write units per change ($${r((run) => run.historyDollarsPerMillion?.writes ?? 0, 2)}), the failover's capture running for it ($${r((run) => run.historyDollarsPerMillion?.failoverCapture ?? 0, 3)})`,
      "stated (issue 27)",
    ],
  ];
  const ladder = (name: keyof PartialRun["ladder"]) =>
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

function partialSection(runs: readonly PartialRun[]): string {
  const most = (pick: (run: PartialRun) => number) => Math.max(...runs.map(pick)).toFixed(1);
  return `${partialTable(runs)}\n\n(${runs.length} run${runs.length === 1 ? "" : "s"} on ${runs[0]?.setup.cores ?? "?"} cores, ranges over the runs; 1-minute load average at most ${most((run) => run.setup.loadAverage.before)} before a run and ${most((run) => run.setup.loadAverage.after)} at its end, the benchmark's own included.)`;
}

// ---- verify: the latest run (test/bench/verify.ts) ----

interface VerifyRun {
  readonly at: string;
  readonly machine: Machine;
  readonly sizes: readonly {
    readonly users: number;
    readonly records: number;
    readonly baselineMs: number;
    /** The baseline once more after verify: how steady DynamoDB Local was over the run. */
    readonly baselineAfterMs: number;
    readonly verifyMs: number;
    readonly verifyDiffMs: number;
    readonly memory: Record<"baseline" | "verify" | "verifyDiff", PhaseMemory>;
  }[];
}

function verifySection(runs: readonly VerifyRun[]): string {
  const run = runs.at(-1);
  if (!run) return "(no run)";
  const rows = run.sizes.map((size) => {
    const { baseline, verify, verifyDiff } = size.memory;
    return `| ${thousands(size.users)} (${thousands(size.records)}) | ${s(size.baselineMs)} | ${(size.verifyMs / 1000).toFixed(1)} / ${s(size.verifyDiffMs)} | **${ratio(size.verifyMs / size.baselineMs)} / ${ratio(size.verifyDiffMs / size.baselineMs)}** | ${baseline.peakRssMb} / ${Math.max(verify.peakRssMb, verifyDiff.peakRssMb)} MB | ${span([verify.heapAfterGcMb, verifyDiff.heapAfterGcMb])} MB |`;
  });
  return [
    "| users (items per side) | baseline | verify, 0 / 5 differences | ratio | peak RSS: baseline / verify | heap after GC |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
    `(latest run: ${ranOn(run.at, run.machine)}; the baseline measured again after verify, as a check of steadiness: ${run.sizes.map((size) => s(size.baselineAfterMs)).join(" and ")}; goal ≤ 1.5×.)`,
  ].join("\n");
}

// ---- full sync: the latest run, and the ratios of the earlier runs kept (test/bench/full-sync.ts) ----

interface FullSyncRun {
  readonly at: string;
  readonly machine: Machine;
  readonly setup: {
    readonly segments: number;
    readonly pageSize: number;
    readonly heapCapMb: number | null;
  };
  readonly sizes: readonly {
    readonly users: number;
    readonly records: number;
    readonly baselineMs: number;
    readonly fullSyncMs: number;
    readonly resyncMs: number;
    readonly memory: Record<"baseline" | "fullSync" | "resync", PhaseMemory>;
  }[];
}

function fullSyncSection(runs: readonly FullSyncRun[]): string {
  const run = runs.at(-1);
  if (!run) return "(no run)";
  const phases = (memory: FullSyncRun["sizes"][number]["memory"], measure: keyof PhaseMemory) =>
    [memory.baseline, memory.fullSync, memory.resync].map((phase) => phase[measure]).join(" / ");
  const rows = run.sizes.map(
    (size) =>
      `| ${thousands(size.users)} (${thousands(size.records)}) | ${s(size.baselineMs)} | ${s(size.fullSyncMs)} | **${ratio(size.fullSyncMs / size.baselineMs)}** | ${s(size.resyncMs)} | ${phases(size.memory, "peakRssMb")} MB | ${phases(size.memory, "heapAfterGcMb")} MB |`,
  );
  const earlier = runs
    .slice(0, -1)
    .map(
      (other) =>
        `${other.at.slice(0, 10)}: ${other.sizes.map((size) => `${ratio(size.fullSyncMs / size.baselineMs)} at ${thousands(size.users)}`).join(", ")}${other.setup.heapCapMb ? ` (heap capped at ${other.setup.heapCapMb} MB)` : ""}`,
    );
  return [
    "| users (records) | baseline | full sync | ratio | re-sync (wipe + copy) | peak RSS: baseline / full sync / re-sync | heap after GC |",
    "|---|---|---|---|---|---|---|",
    ...rows,
    "",
    `(latest run: ${ranOn(run.at, run.machine)}; ${run.setup.segments} segments, pages of ${run.setup.pageSize}${run.setup.heapCapMb ? `, heap capped at ${run.setup.heapCapMb} MB` : ""}; goal ≤ 1.5×.${earlier.length ? ` Earlier runs kept in the file: ${earlier.join("; ")}.` : ""})`,
  ].join("\n");
}

// ---- rewind: the latest run (test/bench/rewind.ts) ----

interface RewindRun {
  readonly at: string;
  readonly machine: Machine;
  readonly setup: {
    readonly users: number;
    readonly items: number;
    readonly retentionDays: number;
  };
  readonly fullSyncMs: number;
  /** The same rewind as a dry run: reading the domain and its history, no writes. */
  readonly dryRunMs?: number;
  readonly rewindMs: number;
  readonly onFailoverMs: number;
  readonly history: Record<
    "created" | "applied" | "deleted",
    { readonly writeUnits: number; readonly bytes: number }
  >;
  readonly dollarsPerMillion: { readonly writes: number; readonly storage: number };
}

function rewindSection(runs: readonly RewindRun[]): string {
  const run = runs.at(-1);
  if (!run) return "(no run)";
  const { history, dollarsPerMillion: dollars } = run;
  const earlier = runs
    .slice(0, -1)
    .map(
      (other) =>
        `${other.at.slice(0, 16).replace("T", " ")}: ${ratio(other.rewindMs / other.fullSyncMs)} (load average ${other.machine.loadAverage.start} to ${other.machine.loadAverage.end})`,
    );
  const perChange = (figure: { writeUnits: number; bytes: number }) =>
    `${figure.writeUnits} write unit${figure.writeUnits === 1 ? "" : "s"} (${thousands(figure.bytes)} B)`;
  const rows: [string, string, string][] = [
    [
      `rewind of a deleted domain of ${thousands(run.setup.users)} users (${thousands(run.setup.items)} items): production has it back`,
      `${s(run.rewindMs)} = **${ratio(run.rewindMs / run.fullSyncMs)}** the full sync of the same items (${s(run.fullSyncMs)})`,
      "≤ 1.5×",
    ],
    [
      "… of which reading the domain and its history (the dry run)",
      run.dryRunMs === undefined ? "not measured in this run" : s(run.dryRunMs),
      "—",
    ],
    ["… and the failover has it back (automatic sync)", s(run.onFailoverMs), "—"],
    [
      "history per change, on each side",
      `a delete (the item before kept) ${perChange(history.deleted)}; a creation ${perChange(history.created)} on production, ${perChange(history.applied)} applied on the failover`,
      "—",
    ],
    [
      "history's $ per million changes (both sides)",
      `**$${dollars.writes.toFixed(2)}** writes + $${dollars.storage.toFixed(3)} storage for ${run.setup.retentionDays} days`,
      "—",
    ],
  ];
  return [
    "| measure | result | goal |",
    "|---|---|---|",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
    `(latest run: ${ranOn(run.at, run.machine)}.${earlier.length ? ` Earlier runs kept in the file: ${earlier.join("; ")}.` : ""})`,
  ].join("\n");
}

// ---- the region-loss drill: the latest run (test/bench/drill.ts, npm run drill) ----

export interface DrillRun {
  readonly at: string;
  readonly node: string;
  readonly cores: number;
  readonly ratePerSecond: number;
  readonly domains: number;
  readonly goals: {
    readonly rpoSeconds: number;
    readonly catchUpRatio: number;
    readonly drift: number;
    readonly noticedIntervals?: number;
  };
  readonly met: Record<"rpo" | "failback" | "drift" | "catchUp", boolean> & {
    readonly noticed?: boolean;
  };
  readonly heartbeatSeconds?: number;
  readonly catchUp: {
    readonly outageSeconds: number;
    readonly backlog: number;
    readonly resumeSeconds: number;
    readonly drainSeconds: number;
    readonly appliedPerSecond: number;
    readonly ratio: number;
    readonly overtaken: number;
    readonly completeSeconds: number | null;
    readonly stillMissing: number;
    readonly inStepAgainSeconds: number | null;
  };
  readonly rpo: {
    readonly acknowledged: number;
    readonly missing: number;
    readonly fromCatchUp: number;
    readonly inFlight: number;
    readonly oldestAgeSeconds: number;
    readonly oldestOfThisOutageSeconds: number;
  };
  /** When the failover noticed production's loss by itself (R20); absent in older runs. */
  readonly noticed?: { readonly statusSeconds: number; readonly metricSeconds: number };
  readonly takeover: { readonly servingMs: number; readonly domainsStarted: number };
  readonly outage: { readonly acknowledgedOnFailover: number };
  readonly failback: {
    readonly state: string;
    readonly resumed: boolean;
    readonly durationMs: number;
  };
  readonly drift: { readonly differences: number; readonly failoverChangesNotOnProduction: number };
  readonly loadAverage: {
    readonly start: Record<string, number | undefined>;
    readonly end: Record<string, number | undefined>;
  };
  readonly syncFlowsAgainMs: number | null;
  readonly totalSeconds: number;
}

/** The drill's table: what `npm run drill` prints, from what it wrote to drill.json. */
export function drillTable(run: DrillRun): string {
  const yes = (ok: boolean) => (ok ? "yes" : "NO");
  const { rpo, catchUp, takeover, failback, drift, goals, met } = run;
  const rows: [string, string, string, string][] = [
    [
      "RPO: acknowledged changes not on the failover",
      `${rpo.missing} + ${rpo.inFlight} in flight, of ${rpo.acknowledged}; oldest ${rpo.oldestAgeSeconds} s${rpo.fromCatchUp ? ` — ${rpo.fromCatchUp} of them held back since the catch-up outage; without those, oldest ${rpo.oldestOfThisOutageSeconds} s` : ""}`,
      `≤ ${goals.rpoSeconds} s of changes (${run.ratePerSecond * goals.rpoSeconds})`,
      yes(met.rpo),
    ],
    [
      "production lost noticed on the failover",
      run.noticed
        ? `after ${run.noticed.statusSeconds} s in its status, ${run.noticed.metricSeconds} s in its HeartbeatAge metric (heartbeat every ${run.heartbeatSeconds} s)`
        : "not measured in this run",
      `≤ ${goals.noticedIntervals ?? 3} intervals (${(goals.noticedIntervals ?? 3) * (run.heartbeatSeconds ?? 1)} s)`,
      run.met.noticed === undefined ? "" : yes(run.met.noticed),
    ],
    [
      "takeover: call → all domains running",
      `${(takeover.servingMs / 1000).toFixed(2)} s (${takeover.domainsStarted} domains)`,
      "—",
      "",
    ],
    [
      `catch-up after a ${catchUp.outageSeconds} s outage`,
      `${catchUp.appliedPerSecond.toFixed(0)}/s = ${catchUp.ratio.toFixed(1)}× arrival (${catchUp.backlog} behind, drained in ${catchUp.drainSeconds} s, ${catchUp.resumeSeconds} s after the failover returned)`,
      `≥ ${goals.catchUpRatio}× arrival (${run.ratePerSecond}/s)`,
      yes(met.catchUp),
    ],
    [
      "catch-up: in step with the load again",
      catchUp.inStepAgainSeconds === null
        ? "not within 2 minutes"
        : `${catchUp.inStepAgainSeconds} s after the failover returned`,
      "—",
      "",
    ],
    [
      "catch-up: backlog complete on the failover",
      catchUp.completeSeconds === null
        ? `not in the drill's wait: ${catchUp.stillMissing} of ${catchUp.overtaken} changes overtaken by later ones of their domain still missing`
        : `${catchUp.completeSeconds} s after it returned; ${catchUp.overtaken} changes overtaken by later ones of their domain`,
      "—",
      "",
    ],
    [
      "failback",
      `${failback.state} in ${(failback.durationMs / 1000).toFixed(1)} s, ${failback.resumed ? "resumed once" : "one command"}`,
      "one command",
      yes(met.failback),
    ],
    [
      "drift after failback (production's verify)",
      `${drift.differences}; ${run.outage.acknowledgedOnFailover - drift.failoverChangesNotOnProduction} of ${run.outage.acknowledgedOnFailover} failover changes on production`,
      "0, all",
      yes(met.drift),
    ],
    [
      "automatic sync production → failover again",
      run.syncFlowsAgainMs === null
        ? "no"
        : `a change there in ${(run.syncFlowsAgainMs / 1000).toFixed(2)} s`,
      "—",
      "",
    ],
  ];
  return [
    "| figure | measured | goal | met? |",
    "|---|---|---|---|",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

function drillSection(run: DrillRun): string {
  return `${drillTable(run)}\n\n(latest run: ${run.at.slice(0, 16).replace("T", " ")} UTC, Node ${run.node.replace(/^v/, "")}, ${run.cores} cores; ${run.ratePerSecond} changes/s over ${run.domains} domains; 1-minute load average ${run.loadAverage.start["1m"]} at the start and ${run.loadAverage.end["1m"]} at the end; ${run.totalSeconds} s in all.)`;
}

// ---- writing them ----

const tables: { readonly name: string; readonly make: () => Promise<string> }[] = [
  {
    name: "partial",
    make: async () => partialSection((await readResults<PartialRun>("partial")).runs),
  },
  {
    name: "verify",
    make: async () => verifySection((await readResults<VerifyRun>("verify")).runs),
  },
  {
    name: "full-sync",
    make: async () => fullSyncSection((await readResults<FullSyncRun>("full-sync")).runs),
  },
  {
    name: "rewind",
    make: async () => rewindSection((await readResults<RewindRun>("rewind")).runs),
  },
  {
    name: "drill",
    make: async () =>
      drillSection(JSON.parse(await readFile(resultsFile("drill"), "utf8")) as DrillRun),
  },
];

/** Replaces what lies between a table's markers; the markers stay. */
export function between(doc: string, name: string, markdown: string): string {
  const begin = new RegExp(`<!-- ${name}-bench:begin[^>]*-->`).exec(doc);
  const end = doc.indexOf(`<!-- ${name}-bench:end -->`);
  if (!begin || end < begin.index)
    throw new Error(
      `${DOCS} has no <!-- ${name}-bench:begin … --> … <!-- ${name}-bench:end --> section`,
    );
  const after = begin.index + begin[0].length;
  return `${doc.slice(0, after)}\n${markdown}\n${doc.slice(end)}`;
}

async function main() {
  const write = process.argv.includes("--write");
  let doc = await readFile(DOCS, "utf8");
  for (const { name, make } of tables) {
    let markdown: string;
    try {
      markdown = await make();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      console.error(`${name}: no results file in ${RESULTS_DIR} yet; its table is left as it is`);
      continue;
    }
    if (write) doc = between(doc, name, markdown);
    else console.log(`## ${name}\n\n${markdown}\n`);
  }
  if (write) {
    await writeFile(DOCS, doc);
    console.log(`${DOCS}: tables written`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
