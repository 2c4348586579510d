import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { AdminClient } from "../../bin/api-client.ts";
import { type LocalRegion, type LocalRuntime, startLocal } from "../../infra/local/runtime.ts";
import { childKey, isReplicated } from "../../shared/model/items.ts";
import type { DriftReport } from "../../shared/sync/verify.ts";
import { waitFor } from "../support/wait.ts";
import { drillTable } from "./tables.ts";

/**
 * `npm run drill` (R24, not part of `npm test`): loses the production region under a steady load
 * of configuration changes and measures what the product promises for that day.
 *
 * 1. Two regions in this process (`startLocal`, heartbeat every second); 50 domains.
 * 2. A steady load on production's admin API over HTTP (`MFT_DRILL_RATE`, default 50 changes/s
 *    over the 50 domains: new groups, and updates of earlier ones); every acknowledged write is
 *    recorded (domain, group, version, when).
 * 3. Catch-up: the failover's API goes offline for 20 s under the load, then back; the backlog's
 *    drain on the failover is timed against the arrival rate, then until the whole backlog is
 *    there, then until the failover is in step with the load again.
 * 4. At a random moment 5–15 s later production goes down (`setRegionDown`: API, pollers,
 *    schedules, state machines, triggers). RPO = the acknowledged changes the failover's table
 *    does not hold, and those production was still forwarding as it stopped.
 * 5. The failover notices by itself: its status says production's heartbeats are missed
 *    (`receiving.missed`) and its monitor publishes a `HeartbeatAge` above two intervals (R20),
 *    timed from the loss. Then takeover on the failover (`POST /api/failover/takeover`), timed
 *    until its domains run.
 * 6. The load goes on, on the failover, for 15 s; then production comes back up and fails back
 *    in one command (`POST /api/failover/failback` `{}`), followed to its end.
 * 7. Production's verify (`GET /api/failover/drift`) must find 0 differences, production must
 *    hold every change the failover acknowledged, and automatic sync must flow again.
 *
 * Prints a table (figure, goal, met?) and writes test/bench/results/drill.json; exits 1 when a
 * goal is missed.
 */
const RATE = Number(process.env.MFT_DRILL_RATE ?? 50);
const DOMAINS = 50;
const HEARTBEAT_SECONDS = 1;
const CATCH_UP_OUTAGE_MS = 20_000;
/** Production's suspendAfterSeconds here (2 minutes by default); see the catch-up phase. */
const SUSPEND_AFTER_SECONDS = 5;
const WARM_UP_MS = 5_000;
/** How long after the catch-up outage the backlog may take to be complete (30 s max backoff). */
const STRAGGLERS_MS = 40_000;
/** Production goes down at a random moment this long into the steady load after catch-up. */
const DOWN_AFTER_MS: [number, number] = [5_000, 15_000];
const ON_FAILOVER_MS = 15_000;
/** Goals (docs/benchmarks.md, issue 11). */
const GOALS = { rpoSeconds: 1, catchUpRatio: 10, drift: 0, noticedIntervals: 3 };

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), "results", "drill.json");
const domainName = (n: number) => `drill-${String(n % DOMAINS).padStart(2, "0")}`;

/** One acknowledged write: what, where, the version the API returned, and when. */
interface Ack {
  readonly domain: string;
  readonly group: string;
  readonly version: number;
  readonly at: number;
}

/**
 * Writes `rate` changes a second through one region's admin API: mostly new groups, one in five
 * an update of a group written before. Keeps every acknowledged write; refused ones are counted.
 */
class Load {
  readonly acks: Ack[] = [];
  failed = 0;
  private written = 0;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly api: AdminClient,
    private readonly prefix: string,
    private readonly known: { domain: string; group: string }[],
  ) {}

  start(rate: number): void {
    const perTick = rate / 10;
    const started = Date.now();
    this.loop = (async () => {
      for (let tick = 0; !this.stopped; tick++) {
        const due = started + tick * 100;
        await delay(Math.max(0, due - Date.now()));
        const count = Math.floor((tick + 1) * perTick) - Math.floor(tick * perTick);
        for (let i = 0; i < count && !this.stopped; i++) this.track(this.writeOne());
      }
    })();
  }

  /** Stops writing; resolves when the writes in flight have their answer. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.all(this.inFlight);
  }

  private track(write: Promise<void>) {
    this.inFlight.add(write);
    void write.finally(() => this.inFlight.delete(write));
  }

  private async writeOne(): Promise<void> {
    const n = this.written++;
    const update = n % 5 === 4 && this.known.length > 0;
    const target = update
      ? (this.known[Math.floor(Math.random() * this.known.length)] ?? { domain: "", group: "" })
      : { domain: domainName(n), group: `${this.prefix}${n}` };
    try {
      const answer = await this.api.request<{ version: number }>(
        "PUT",
        `/api/domains/${target.domain}/groups/${target.group}`,
        { description: `${this.prefix} change ${n}` },
      );
      this.acks.push({ ...target, version: answer.version, at: Date.now() });
      if (!update) this.known.push(target);
    } catch {
      this.failed += 1;
    }
  }
}

/**
 * Waits until the failover holds the last of `acks` in each domain (each domain is one FIFO
 * group, so the earlier ones should be there too); false if it did not within `timeoutMs`.
 */
async function domainTails(runtime: LocalRuntime, acks: Ack[], timeoutMs: number) {
  const last = new Map<string, Ack>();
  for (const ack of acks) {
    const seen = last.get(ack.domain);
    if (!seen || seen.version < ack.version) last.set(ack.domain, ack);
  }
  const pending = [...last.values()];
  return waitFor(
    async () => {
      for (let next = pending[0]; next; next = pending[0]) {
        const record = await runtime.failover.services.store.get(
          childKey(next.domain, "group", next.group),
        );
        if (!record || record.version < next.version) return false;
        pending.shift();
      }
      return true;
    },
    Math.max(1, timeoutMs),
    "the failover to hold each domain's last change",
  ).then(
    () => true,
    () => false,
  );
}

/**
 * Waits until the failover holds every one of `acks`, reading its table at most once a second
 * (a Scan loads DynamoDB Local, which the pipeline needs); how many were still missing.
 */
async function allOnFailover(runtime: LocalRuntime, acks: Ack[], timeoutMs: number) {
  let missing = acks;
  let scannedAt = 0;
  const complete = await waitFor(
    async () => {
      if (Date.now() - scannedAt < 1_000) return false;
      scannedAt = Date.now();
      missing = missingFrom(await versions(runtime.failover), missing);
      return missing.length === 0;
    },
    Math.max(1, timeoutMs),
    "every acknowledged change on the failover",
  ).then(
    () => true,
    () => false,
  );
  return { complete, missing: missing.length };
}

/** Every replicated record's version in a region's table (tombstones too), by pk|sk. */
async function versions(region: LocalRegion): Promise<Map<string, number>> {
  const all = new Map<string, number>();
  const segments = 4;
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let cursor: string | undefined;
      do {
        const page = await region.services.bulk.scan(segment, segments, {
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        });
        for (const record of page.items)
          if (isReplicated(record)) all.set(`${record.pk}|${record.sk}`, Number(record.version));
        cursor = page.cursor;
      } while (cursor);
    }),
  );
  return all;
}

const keyOf = (ack: Pick<Ack, "domain" | "group">) => {
  const { pk, sk } = childKey(ack.domain, "group", ack.group);
  return `${pk}|${sk}`;
};

/** The acknowledged writes a table does not hold (at their version or a later one). */
const missingFrom = (table: Map<string, number>, acks: Ack[]) =>
  acks.filter((ack) => (table.get(keyOf(ack)) ?? -1) < ack.version);

const seconds = (ms: number) => ms / 1000;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const log = (message: string) => console.error(`drill: ${message}`);

export async function drill(): Promise<boolean> {
  const started = Date.now();
  /** Other work on the machine skews every figure: it goes into the results. */
  const loadAtStart = loadavg();
  const runtime: LocalRuntime = await startLocal({
    productionPort: 0,
    failoverPort: 0,
    seed: false,
    heartbeatSeconds: HEARTBEAT_SECONDS,
    // The outages below make forward and capture warn on purpose; errors still show.
    logLevel: "ERROR",
  });
  try {
    const production = new AdminClient(runtime.production.url, runtime.admin);
    const failover = new AdminClient(runtime.failover.url, runtime.admin);
    log(`regions up in ${seconds(Date.now() - started).toFixed(1)} s; ${DOMAINS} domains`);
    await prepare(runtime, production);

    const known: { domain: string; group: string }[] = [];
    const load = new Load(production, "p", known);
    load.start(RATE);
    await delay(WARM_UP_MS);

    const catchUp = await catchUpPhase(runtime, load);
    if (catchUp.overtaken > 0)
      log(
        `catch-up: ${catchUp.overtaken} backlog changes arrived after later changes of their domain; ${catchUp.completeSeconds === null ? `${catchUp.stillMissing} still missing ${seconds(STRAGGLERS_MS)} s` : `all there ${catchUp.completeSeconds} s`} after the failover returned`,
      );
    log(
      `catch-up: ${catchUp.backlog} changes behind after ${seconds(CATCH_UP_OUTAGE_MS)} s offline; drained at ${catchUp.appliedPerSecond.toFixed(0)} changes/s (${catchUp.ratio.toFixed(1)}× arrival)`,
    );
    const inStep = await inStepAgain(runtime, load, catchUp.onlineAt);
    const loss = await loseProduction(runtime, load);
    const rpo = await measureRpo(runtime, load, loss, catchUp.onlineAt);
    const noticed = await noticedOnFailover(runtime, failover, loss.downAt);
    log(
      `the failover noticed production's loss after ${noticed.statusSeconds} s (status), ${noticed.metricSeconds} s (HeartbeatAge)`,
    );
    const takeover = await takeOver(failover, loss.downAt);
    const outageLoad = await loadOnFailover(failover, known);
    const { upMs, failback } = await failBack(runtime, production);
    const drift = await verifyDrift(runtime, production, outageLoad);

    const met = {
      rpo: rpo.oldestAgeSeconds <= GOALS.rpoSeconds,
      failback: failback.state === "succeeded" && !failback.resumed,
      drift: drift.differences === GOALS.drift && drift.failoverChangesNotOnProduction === 0,
      catchUp: catchUp.ratio >= GOALS.catchUpRatio,
      noticed:
        Math.max(noticed.statusSeconds, noticed.metricSeconds) <=
        GOALS.noticedIntervals * HEARTBEAT_SECONDS,
    };
    const totalSeconds = round(seconds(Date.now() - started), 1);
    const { flowing, ...driftFigures } = drift;
    const result = {
      at: new Date(started).toISOString(),
      node: process.version,
      cores: availableParallelism(),
      ratePerSecond: RATE,
      domains: DOMAINS,
      heartbeatSeconds: HEARTBEAT_SECONDS,
      suspendAfterSeconds: SUSPEND_AFTER_SECONDS,
      goals: GOALS,
      met,
      catchUp: { ...catchUp, inStepAgainSeconds: inStep },
      rpo: { ...rpo, downAfterSeconds: round(seconds(loss.downAfter), 1) },
      noticed,
      takeover,
      outage: {
        acknowledgedOnFailover: outageLoad.acks.length,
        refusedWrites: outageLoad.failed,
        upTookMs: upMs,
      },
      failback,
      drift: driftFigures,
      // Forwarded batches that failed (timeouts under load, the outages): their reasons.
      failedBatches: failedBatches(runtime),
      loadAverage: { start: minutes(loadAtStart), end: minutes(loadavg()) },
      syncFlowsAgainMs: flowing ?? null,
      totalSeconds,
    };
    console.log(
      `\nregion-loss drill: ${RATE} changes/s over ${DOMAINS} domains, ${availableParallelism()} cores, local emulators\n`,
    );
    // A Markdown table, the same that `npm run bench:tables` writes into docs/benchmarks.md.
    console.log(drillTable(result));
    const load1 = (value: number[]) => (value[0] ?? 0).toFixed(1);
    console.log(
      `\n(${totalSeconds} s in all; 1-minute load average ${load1(loadAtStart)} at the start, ${load1(loadavg())} at the end; JSON in ${RESULTS})`,
    );

    await mkdir(dirname(RESULTS), { recursive: true });
    await writeFile(RESULTS, `${asBiomeFormats(result)}\n`);
    return Object.values(met).every(Boolean);
  } finally {
    await runtime.stop();
  }
}

/**
 * Production's suspendAfterSeconds shortened (the catch-up phase's outage lasts 20 s, not the
 * minutes after which automatic sync is suspended by default, so the drill goes the way a real
 * outage does), and the drill's domains on both regions.
 */
async function prepare(runtime: LocalRuntime, production: AdminClient) {
  const { passwordSet: _, ...settings } = await production.request<Record<string, unknown>>(
    "GET",
    "/api/failover",
  );
  await production.request("PUT", "/api/failover", {
    ...settings,
    suspendAfterSeconds: SUSPEND_AFTER_SECONDS,
  });
  for (let n = 0; n < DOMAINS; n++)
    await production.request("PUT", `/api/domains/${domainName(n)}`, { description: "drill" });
  await waitFor(
    async () =>
      [...(await versions(runtime.failover)).keys()].filter((key) => key.endsWith("|DOMAIN"))
        .length >= DOMAINS,
    30_000,
    "the domains on the failover",
  );
}

/**
 * Production goes down from a steady state: waits until the failover is in step with what was
 * acknowledged (each domain's last change there, then every change, a Scan a second). Seconds
 * from the failover's return, or null when it did not catch up within 2 minutes.
 */
async function inStepAgain(runtime: LocalRuntime, load: Load, onlineAt: number) {
  const sofar = [...load.acks];
  const inStepFrom = Date.now();
  const inStep =
    (await domainTails(runtime, sofar, 120_000)) &&
    (await allOnFailover(runtime, sofar, inStepFrom + 120_000 - Date.now())).complete;
  const inStepSeconds = round(seconds(Date.now() - onlineAt));
  log(
    inStep
      ? `in step again ${inStepSeconds} s after the failover returned`
      : "the failover did not catch up with the load within 2 minutes; going on",
  );
  return inStep ? inStepSeconds : null;
}

/** At a random moment 5–15 s into the steady load, production goes down; the load stops. */
async function loseProduction(runtime: LocalRuntime, load: Load) {
  const downAfter = DOWN_AFTER_MS[0] + Math.random() * (DOWN_AFTER_MS[1] - DOWN_AFTER_MS[0]);
  log(`production goes down in ${seconds(downAfter).toFixed(1)} s`);
  await delay(downAfter);
  const downAt = Date.now();
  await runtime.setRegionDown("production", true);
  const downMs = Date.now() - downAt;
  await load.stop();
  return { downAfter, downAt, downMs };
}

/**
 * RPO: the acknowledged changes the failover's table does not hold, and those production was
 * still forwarding as it stopped; production's queue keeps the ones that did not make it.
 */
async function measureRpo(
  runtime: LocalRuntime,
  load: Load,
  { downAt, downMs }: { downAt: number; downMs: number },
  catchUpOnlineAt: number,
) {
  const queue = await runtime.production.services.queue.depths();
  const onFailover = await versions(runtime.failover);
  const lost = missingFrom(onFailover, load.acks);
  const ages = [...lost.map((ack) => downAt - ack.at), ...(await inFlightAt(runtime, downAt))];
  const rpo = {
    acknowledged: load.acks.length,
    missing: lost.length,
    /** Of those: acknowledged before the catch-up outage ended, still held back since. */
    fromCatchUp: lost.filter((ack) => ack.at < catchUpOnlineAt).length,
    /** Sent while the region stopped: in a harder crash these would be lost too. */
    inFlight: ages.length - lost.length,
    oldestAgeSeconds: round(seconds(Math.max(0, ...ages))),
    /** Without those held back since the catch-up outage: what losing production cost. */
    oldestOfThisOutageSeconds: round(
      seconds(Math.max(0, ...ages.filter((age) => downAt - age >= catchUpOnlineAt))),
    ),
    refusedWrites: load.failed,
    downTookMs: downMs,
    queueAtDown: queue,
  };
  log(
    `production down (${downMs} ms): ${rpo.missing} of ${rpo.acknowledged} acknowledged changes not on the failover, ${rpo.inFlight} more in flight, oldest ${rpo.oldestAgeSeconds} s`,
  );
  return rpo;
}

/** Takeover on the failover (`POST /api/failover/takeover`), timed until its domains run. */
async function takeOver(failover: AdminClient, downAt: number) {
  const takeoverAt = Date.now();
  const takeoverAnswer = await failover.request<{ domainsStarted: number; webEnabled: boolean }>(
    "POST",
    "/api/failover/takeover",
  );
  const callMs = Date.now() - takeoverAt;
  await waitFor(
    async () => {
      const { items } = await failover.request<{ items: { name: string; running: boolean }[] }>(
        "GET",
        "/api/domains?limit=1000",
      );
      return items.filter((domain) => domain.running).length >= DOMAINS;
    },
    30_000,
    "the failover's domains running",
  );
  const takeover = {
    callMs,
    servingMs: Date.now() - takeoverAt,
    sinceDownSeconds: round(seconds(Date.now() - downAt)),
    domainsStarted: takeoverAnswer.domainsStarted,
    webEnabled: takeoverAnswer.webEnabled,
  };
  log(`takeover: serving after ${takeover.servingMs} ms`);
  return takeover;
}

/** The load goes on, on the failover, for 15 s. */
async function loadOnFailover(failover: AdminClient, known: { domain: string; group: string }[]) {
  const outageLoad = new Load(failover, "f", known);
  outageLoad.start(RATE);
  await delay(ON_FAILOVER_MS);
  await outageLoad.stop();
  log(`${outageLoad.acks.length} changes acknowledged by the failover during the outage`);
  return outageLoad;
}

/** Production comes back up and fails back in one command, followed to its end. */
async function failBack(runtime: LocalRuntime, production: AdminClient) {
  const upAt = Date.now();
  await runtime.setRegionDown("production", false);
  const upMs = Date.now() - upAt;
  const failback = await failbackPhase(production);
  log(`failback ${failback.state} in ${seconds(failback.durationMs).toFixed(1)} s`);
  return { upMs, failback };
}

/**
 * After failback: production's verify (`GET /api/failover/drift`), the failover's changes that
 * production does not hold, and how soon automatic sync flows again.
 */
async function verifyDrift(runtime: LocalRuntime, production: AdminClient, outageLoad: Load) {
  const drift = await production.request<DriftReport>("GET", "/api/failover/drift");
  const onProduction = await versions(runtime.production);
  const notBack = missingFrom(onProduction, outageLoad.acks);
  const flowing = await syncFlowsAgain(runtime, production);
  return {
    differences: drift.differences,
    pending: drift.pending,
    failoverChangesNotOnProduction: notBack.length,
    ...(drift.differences > 0 ? { domains: drift.domains.slice(0, 5) } : {}),
    flowing,
  };
}

/**
 * How long after `downAt` the failover said by itself that production's heartbeats are missed
 * (R20): in its status (`receiving.missed`), and in its metric sink (a `HeartbeatAge` above two
 * intervals, as its monitor publishes it for the alarm).
 */
async function noticedOnFailover(runtime: LocalRuntime, failover: AdminClient, downAt: number) {
  const statusAt = await waitFor(
    async () => {
      const { receiving } = await failover.request<{ receiving: { missed: boolean } | null }>(
        "GET",
        "/api/failover/status",
      );
      return receiving?.missed ? Date.now() : undefined;
    },
    60_000,
    "the failover's status to say production's heartbeats are missed",
  );
  const metric = await waitFor(
    () =>
      runtime.failover.metrics.published.find(
        (published) =>
          published.name === "HeartbeatAge" &&
          published.at >= downAt &&
          published.value > 2 * HEARTBEAT_SECONDS,
      ),
    60_000,
    "a HeartbeatAge above two intervals on the failover",
  );
  return {
    statusSeconds: round(seconds(statusAt - downAt)),
    metricSeconds: round(seconds(metric.at - downAt)),
  };
}

/** os.loadavg() by name. */
const minutes = ([one, five, fifteen]: number[]) => ({ "1m": one, "5m": five, "15m": fifteen });

/**
 * JSON as `biome format` leaves it (so `npm run lint` passes on the results): objects one key a
 * line, arrays of plain values on one line when short.
 */
function asBiomeFormats(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\[\n\s*([^[\]{}]*?)\n\s*\]/g,
    (whole, items: string) => {
      const inline = `[${items.split(/,\n\s*/).join(", ")}]`;
      return inline.length <= 60 ? inline : whole;
    },
  );
}

function failedBatches(runtime: LocalRuntime) {
  const reasons = new Map<string, number>();
  for (const { detail } of runtime.production.bus.events()) {
    if (detail.Success || detail.Mode !== "automatic") continue;
    const reason = (detail.Reason ?? "").replace(/\d+/g, "N");
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  return Object.fromEntries(reasons);
}

/**
 * The ages at `downAt` of the changes production was forwarding at that moment: the batches that
 * ended after it (the region's stop lets work in flight end). Counted in the RPO, as a crash
 * that cut them would have lost them.
 */
async function inFlightAt(runtime: LocalRuntime, downAt: number): Promise<number[]> {
  const batches = await runtime.production.services.status.recentBatches();
  return batches
    .filter(({ event }) => event.Success && Date.parse(event.FinishedAt) > downAt)
    .flatMap(({ event, lagMs }) =>
      lagMs.map((lag) => downAt - (Date.parse(event.FinishedAt) - lag)),
    );
}

/**
 * The failover's API offline for 20 s under the load, then back. The backlog is what production
 * acknowledged and the failover's table lacks when it returns; it has drained when the last
 * change of each domain acknowledged before then is there (each domain is one FIFO group, so the
 * earlier ones are too). Production's suspendAfterSeconds is 5 s here, so the outage goes as one
 * longer than the default 2 minutes does: suspended, the queue's consumer paused, the heartbeat
 * probing; when the failover answers, sync resumes by itself and the queue drains at once.
 */
async function catchUpPhase(runtime: LocalRuntime, load: Load) {
  const eventsBefore = runtime.production.bus.events().length;
  await runtime.failover.setOnline(false);
  const offlineAt = Date.now();
  await delay(CATCH_UP_OUTAGE_MS);
  const acked = [...load.acks];
  const backlog = missingFrom(await versions(runtime.failover), acked);
  await runtime.failover.setOnline(true);
  const onlineAt = Date.now();
  if (!(await domainTails(runtime, backlog, 120_000)))
    throw new Error("the backlog did not drain within 2 minutes");
  const caughtUpAt = Date.now();
  // Each domain's last change is there; FIFO order says its earlier ones are too. Those that are
  // not (overtaken by later changes of their domain) are waited for: the backlog is complete.
  const stragglers = missingFrom(await versions(runtime.failover), backlog);
  const overtaken = stragglers.length;
  // SQS backoff holds a message back 30 s at most: wait that long (and a little) for them.
  const { complete, missing: stillMissing } = await allOnFailover(
    runtime,
    stragglers,
    onlineAt + STRAGGLERS_MS - Date.now(),
  );
  const completeAt = Date.now();
  if (!complete) log(`catch-up: ${stillMissing} backlog changes still not on the failover`);
  // When forwarding started again: the first successful batch after the failover returned.
  const resumedAt =
    runtime.production.bus
      .events()
      .slice(eventsBefore)
      .filter((event) => event.detail.Success && Date.parse(event.detail.FinishedAt) >= onlineAt)
      .map((event) => Date.parse(event.detail.StartedAt))
      .sort((a, b) => a - b)[0] ?? onlineAt;
  const drainStart = Math.max(resumedAt, onlineAt);
  const drainMs = Math.max(1, caughtUpAt - drainStart);
  const arrivedWhileDraining = load.acks.filter(
    (ack) => ack.at >= drainStart && ack.at <= caughtUpAt,
  ).length;
  const arrivalPerSecond =
    load.acks.filter((ack) => ack.at >= offlineAt && ack.at < onlineAt).length /
    seconds(onlineAt - offlineAt);
  // How forward drained it: its calls to the failover (one per batch) and their sizes.
  const drainBatches = runtime.production.bus
    .events()
    .slice(eventsBefore)
    .filter(({ detail }) => {
      const finished = Date.parse(detail.FinishedAt);
      return detail.Success && detail.Items > 0 && finished >= drainStart && finished <= caughtUpAt;
    });
  const drainItems = drainBatches.reduce((sum, { detail }) => sum + detail.Items, 0);
  // Applied on the failover while draining: the backlog, and what arrived meanwhile.
  const appliedPerSecond = (backlog.length + arrivedWhileDraining) / seconds(drainMs);
  return {
    outageSeconds: round(seconds(onlineAt - offlineAt), 1),
    backlog: backlog.length,
    arrivalPerSecond: round(arrivalPerSecond, 1),
    resumeSeconds: round(seconds(drainStart - onlineAt)),
    drainSeconds: round(seconds(drainMs)),
    appliedPerSecond: round(appliedPerSecond, 1),
    backlogPerSecond: round(backlog.length / seconds(drainMs), 1),
    ratio: round(appliedPerSecond / arrivalPerSecond, 1),
    /** Forward's calls to the failover while draining, per second, and changes per call. */
    drainCallsPerSecond: round(drainBatches.length / seconds(drainMs), 1),
    changesPerCall: round(drainItems / Math.max(1, drainBatches.length), 1),
    /** Backlog changes not on the failover when each domain's last one was (out of order). */
    overtaken,
    /** From the failover's return until every backlog change was there (if it was). */
    completeSeconds: complete ? round(seconds(completeAt - onlineAt)) : null,
    /** Backlog changes still not there STRAGGLERS_MS after the failover returned. */
    stillMissing,
    onlineAt,
  };
}

interface FailbackView {
  state: "running" | "succeeded" | "failed";
  step: string;
  steps: { name: string; state: string; reason?: string }[];
}

/** `POST /api/failover/failback` `{}` on production, followed until it is not running. */
async function failbackPhase(production: AdminClient) {
  const at = Date.now();
  const follow = async (failbackId: string) =>
    waitFor(
      async () => {
        const view = await production.request<FailbackView>(
          "GET",
          `/api/failover/failbacks/${failbackId}`,
        );
        return view.state === "running" ? undefined : view;
      },
      240_000,
      `failback ${failbackId} to end`,
    );
  const { failbackId } = await production.request<{ failbackId: string }>(
    "POST",
    "/api/failover/failback",
    {},
  );
  let view = await follow(failbackId);
  let resumed = false;
  if (view.state === "failed") {
    log(`failback failed at ${view.step}: ${JSON.stringify(view.steps)}; resuming once`);
    await production.request("POST", "/api/failover/failback", { resume: failbackId });
    view = await follow(failbackId);
    resumed = true;
  }
  return { failbackId, state: view.state, steps: view.steps, resumed, durationMs: Date.now() - at };
}

/** A change on production reaches the failover again (failback's last step): how soon. */
async function syncFlowsAgain(runtime: LocalRuntime, production: AdminClient) {
  const at = Date.now();
  const { version } = await production.request<{ version: number }>(
    "PUT",
    `/api/domains/${domainName(0)}/groups/after-failback`,
    { description: "automatic sync flows again" },
  );
  try {
    await waitFor(
      async () =>
        ((
          await runtime.failover.services.store.get(
            childKey(domainName(0), "group", "after-failback"),
          )
        )?.version ?? -1) >= version,
      30_000,
      "a change on production on the failover",
    );
    return Date.now() - at;
  } catch {
    return undefined;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ok = await drill();
  if (!ok) console.log("\nsome goals were not met (see the table)");
  process.exit(ok ? 0 : 1);
}
