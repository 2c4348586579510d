import type { Command } from "commander";
import type { DriftReport } from "../../shared/sync/verify.ts";
import { ApiError } from "../api-client.ts";
import { type Cli, EXIT, OutcomeError, UsageError } from "../context.ts";
import { durationMs } from "./time.ts";

/** How often the comparison is made again while changes are on their way. */
const POLL_MS = 250;

/**
 * `failover wait`: until the failover holds what production holds now (issue 28.1). "Now" is
 * the first comparison (verify, R21): the items production holds newer than the failover then,
 * which automatic sync still carries (`pending`), are waited for — until each is in step (or
 * overtaken by a newer change that is in step). Changes made after that first comparison are
 * not waited for, so it ends under a steady load too. A difference sync will not carry (drift)
 * ends it at once, exit 4; no arrival within --timeout, exit 5.
 */
export function register(failover: Command, cli: Cli): void {
  failover
    .command("wait")
    .description(
      "wait until the failover holds what production holds now: every change production made before the call is applied there (exit 0); exit 5 when --timeout passes first, exit 4 when the failover differs in a way automatic sync will not fix",
    )
    .option("--timeout <duration>", "how long to wait at most: 30s, 2m, 500ms", timeout, 60_000)
    .addHelpText(
      "after",
      `
Run it on production (the default --url) after a change, before reading the failover:
  mft-failover users put acme dave password=… homeDirectory=/data/acme/dave
  mft-failover failover wait --timeout 30s
  mft-failover --url http://127.0.0.1:8620 users get acme dave

Each check is a verify (failover verify): the items that differ and that automatic sync still
carries are those waited for. Changes made after the call are not waited for.
Exit codes: 0 in step; 4 the failover differs in a way sync will not fix (failover verify lists
it, failover repair sends it); 5 timed out, the changes still on their way.`,
    )
    .action(async (options: { timeout: number }) => {
      const api = cli.client();
      const started = Date.now();
      const deadline = started + options.timeout;
      // A failover that does not answer yet (an outage, a restart) is waited for too.
      const check = () =>
        api.request<DriftReport>("GET", "/api/failover/drift").catch((error: unknown) => {
          if (error instanceof ApiError && TRANSIENT.has(error.code)) return error;
          throw error;
        });
      let report = await check();
      while (report instanceof ApiError) {
        if (Date.now() + POLL_MS > deadline) throw timedOut(options.timeout, silent(report));
        await sleep();
        report = await check();
      }
      const first = report;
      // The first report's pending items are "now"; a truncated list is waited for as a count.
      const awaited = first.truncated ? null : new Set(pendingIds(first));
      let left = first.pending;
      for (;;) {
        if (!(report instanceof ApiError)) {
          if (report.differences > 0) {
            const them = report.differences === 1 ? "it" : "them";
            throw new OutcomeError(
              "drift",
              `${plural(report.differences, "difference")} automatic sync will not carry: \`failover verify\` lists ${them}, \`failover repair\` sends ${them}`,
              EXIT.drift,
            );
          }
          left = awaited
            ? pendingIds(report).filter((id) => awaited.has(id)).length
            : report.pending;
          if (left === 0) break;
        }
        if (Date.now() + POLL_MS > deadline) {
          throw timedOut(
            options.timeout,
            report instanceof ApiError
              ? silent(report)
              : `${plural(left, "change")} still on ${left === 1 ? "its" : "their"} way (\`failover status\` says why)`,
          );
        }
        await sleep();
        report = await check();
      }
      const waitedMs = Date.now() - started;
      if (cli.json)
        return cli.print({ inStep: true, at: first.checkedAt, carried: first.pending, waitedMs });
      console.log(
        `in step: the failover holds what production held at ${first.checkedAt} (${plural(first.pending, "change")} carried in ${seconds(waitedMs)})`,
      );
    });
}

/** The failover's failures that pass by themselves (R9): it is waited for. */
const TRANSIENT = new Set([
  "failover_dns",
  "failover_connect",
  "failover_timeout",
  "failover_http",
]);

const silent = (error: ApiError) => `the failover does not answer (${error.message})`;

const timedOut = (timeoutMs: number, why: string) =>
  new OutcomeError(
    "timeout",
    `timed out after ${seconds(timeoutMs)}: ${why}; wait longer with --timeout`,
    EXIT.timeout,
  );

const sleep = () => new Promise((resolve) => setTimeout(resolve, POLL_MS));

/** Every pending item of a report, named by its domain ("(server)" for the server level). */
const pendingIds = (report: DriftReport) =>
  report.domains.flatMap(({ domain, pending }) => pending.map((id) => `${domain ?? ""}/${id}`));

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

const seconds = (ms: number) =>
  ms < 1000 ? `${ms} ms` : `${Number.isInteger(ms / 1000) ? ms / 1000 : (ms / 1000).toFixed(1)} s`;

/** --timeout: 100 ms to one hour. */
function timeout(value: string): number {
  const ms = durationMs(value);
  if (ms === undefined || ms < 100 || ms > 3_600_000)
    throw new UsageError(
      `--timeout is a duration from 100ms to 60m (30s, 2m, 500ms), not ${value}`,
    );
  return ms;
}
