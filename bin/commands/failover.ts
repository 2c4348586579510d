import type { Command } from "commander";
import type { DriftReport } from "../../shared/sync/verify.ts";
import type { AdminClient } from "../api-client.ts";
import { bodyFrom, type Cli, EXIT, OutcomeError, UsageError } from "../context.ts";
import * as wait from "./failover-wait.ts";
import { formatStatus, notInStep, type StatusView } from "./status-view.ts";

interface TestView {
  ok: boolean;
  latencyMs: number;
  peer?: { serverId: string; protocol: number; autoSync: boolean };
  failed?: string;
  message?: string;
}

interface FullSyncView {
  syncId: string;
  state: "running" | "succeeded" | "failed";
  step: string;
  durationMs: number;
  domains: { done: number; total: number | null };
  items: { done: number; total: number | null };
  reason?: string;
}

/** Settings > Failover (R5) and what the module does: status, test, resume, verify, … */
export function register(program: Command, cli: Cli): void {
  const failover = program
    .command("failover")
    .description(
      "the failover module: settings, status, wait, test, resume, verify, repair, takeover, clear-fence",
    );
  failover
    .command("get")
    .description("show the failover settings (the password shows only as passwordSet)")
    .action(async () => cli.print(await cli.client().request("GET", "/api/failover")));
  failover
    .command("set [fields...]")
    .description(
      "change the failover settings: the fields given (key=value or --data/--file), the others kept",
    )
    .option("--data <json>", "fields as a JSON object")
    .option("--file <path>", "read the fields from a JSON file (- for stdin)")
    .option("--replace", "replace all settings: fields not given take their defaults")
    .addHelpText(
      "after",
      `
Fields:
  enabled              true or false: the module is on (default false)
  host, port           where the failover's admin API is (port default 443)
  useTls               https (default true); false only for loopback
  username, password   the failover's admin credentials (the password is write-only;
                       password=@file reads it from a file, password=- asks for it)
  timeoutMs            per call to the failover, 100 to 60000 (default 10000)
  autoSync             forward every change as it happens (default false)
  suspendAfterSeconds  how long the failover may stay unreachable before automatic sync is
                       suspended (default 120)
  autoResume           resume a suspended automatic sync by itself once the heartbeat
                       reaches the failover again (default true)
  startAfterSync       start the domains on the failover after a full sync (default false)
  ipSubstitutions      [{"ip": "10.0.0.10", "substituteIp": "192.168.0.10"}]: services'
                       addresses as the failover uses them

Example:
  mft-failover failover set enabled=true host=failover.example.com username=admin password=-`,
    )
    .action(
      async (pairs: string[], options: { data?: string; file?: string; replace?: boolean }) => {
        const api = cli.client();
        const fields = await bodyFrom(pairs, options);
        // The API's PUT replaces; `passwordSet` is read-only and the password, absent, is kept.
        const { passwordSet: _, ...current } = options.replace
          ? {}
          : await api.request<Record<string, unknown>>("GET", "/api/failover");
        cli.print(await api.request("PUT", "/api/failover", { ...current, ...fields }));
      },
    );

  failover
    .command("status")
    .description(
      "at a glance: sync state (with reason and since), connection and heartbeat, queue and dead-letter queue, lag p50/p99, last event, last full sync (R20); on a failover whom it receives from, the last change and heartbeat applied, takeover; exits 6 when not in step",
    )
    .addHelpText(
      "after",
      `
Exit codes (for cron and monitoring): 0 in step, or automatic sync turned off (a setting, the
state line says it); 6 not in step: automatic sync suspended, the failover unreachable, a
heartbeat missed, changes in the dead-letter queue, or on a failover production's heartbeats
stopped arriving (the reasons on stderr); 3 no answer at --url. --watch exits 0 at Ctrl-C.`,
    )
    .option("--watch", "refresh every few seconds, in place on a terminal; Ctrl-C stops")
    .option("--interval <seconds>", "with --watch: seconds between refreshes", seconds, 2)
    .action(async (options: { watch?: boolean; interval: number }) => {
      const api = cli.client();
      const read = () => api.request<StatusView>("GET", "/api/failover/status");
      if (!options.watch) {
        const status = await read();
        showStatus(cli, status);
        const reasons = notInStep(status);
        if (reasons.length > 0) {
          const why = `not in step: ${reasons.join("; ")}`;
          throw new OutcomeError("not_in_step", why, EXIT.notInStep);
        }
        return;
      }
      await watch(cli, read, options.interval);
    });

  wait.register(failover, cli);

  failover
    .command("test")
    .description(
      "test the connection to the failover: reachability and credentials, and which step failed (dns, connect, tls, timeout, auth, version); exits 1 when it fails (R6)",
    )
    .action(async () => {
      const answer = await cli.client().request<TestView>("POST", "/api/failover/test");
      if (cli.json) cli.print(answer);
      else if (answer.ok && answer.peer) {
        console.log(
          `ok: the failover ${answer.peer.serverId} answered in ${answer.latencyMs} ms (protocol ${answer.peer.protocol})`,
        );
      }
      if (!answer.ok) {
        throw new OutcomeError(
          "test_failed",
          `the test failed at ${answer.failed}: ${answer.message} (${answer.latencyMs} ms)`,
        );
      }
    });

  failover
    .command("resume")
    .description(
      "resume suspended automatic sync: what the dead-letter queue kept goes back to the queue, forwarding starts again (R9); prints the status",
    )
    .action(async () => {
      const api = cli.client();
      const before = await api.request<StatusView>("GET", "/api/failover/status");
      const status = await api.request<StatusView>("POST", "/api/failover/resume");
      const held = before.queue.deadLettered;
      if (!cli.json) {
        console.log(
          before.sync.state === "suspended"
            ? "automatic sync resumed\n"
            : held > 0
              ? `automatic sync was not suspended; the dead-letter queue's ${held} change(s) sent again\n`
              : "automatic sync was not suspended: nothing to resume\n",
        );
      }
      showStatus(cli, status);
    });

  failover
    .command("takeover")
    .description(
      "on the failover, when production is lost: start all its domains and web services (R19a)",
    )
    .action(async () => cli.print(await cli.client().request("POST", "/api/failover/takeover")));

  failover
    .command("verify")
    .description(
      "compare production with the failover: missing, extra and different items; exits 4 when there are differences (R21)",
    )
    .action(async () => {
      const report = await cli.client().request<DriftReport>("GET", "/api/failover/drift");
      // A script tells drift from none by the exit code.
      if (report.differences > 0) process.exitCode = EXIT.drift;
      if (cli.json) return cli.print(report);
      const noun = report.differences === 1 ? "difference" : "differences";
      const pending = report.pending ? `; ${report.pending} pending, still on their way` : "";
      console.log(
        `${report.differences} ${noun}${pending} (checked ${report.checkedAt}, ${report.durationMs} ms)`,
      );
      for (const drift of report.domains) {
        const where = drift.domain ?? "(server)";
        for (const id of drift.missing) console.log(`  ${where}  missing on the failover  ${id}`);
        for (const id of drift.extra) console.log(`  ${where}  extra on the failover    ${id}`);
        for (const { id, fields } of drift.different)
          console.log(`  ${where}  different                ${id}  (${fields.join(", ")})`);
        for (const id of drift.pending) console.log(`  ${where}  pending (sync carries it) ${id}`);
      }
      if (report.truncated) console.log("  … more than listed; `failover repair` fixes them all");
    });

  failover
    .command("repair")
    .description(
      "send exactly the items verify finds different through automatic sync, no wipe (R21)",
    )
    .action(async () => {
      const answer = await cli.client().request<{
        repairId: string;
        items: number;
        refused: { domain: string | null; id: string; reason: string }[];
      }>("POST", "/api/failover/repair");
      if (cli.json) return cli.print(answer);
      console.log(
        `repair ${answer.repairId}: ${answer.items} item(s) written again on production; automatic sync carries them (check with \`failover verify\`)`,
      );
      for (const { domain, id, reason } of answer.refused)
        console.log(`  ${domain ?? "(server)"}  refused  ${id}  (${reason}; \`sync\` replaces it)`);
    });

  failover
    .command("clear-fence")
    .description(
      "on the server a full sync copies to: forget the newest full sync it has seen, when runs are refused as overtaken (409) by one from a clock that was ahead",
    )
    .action(async () => {
      const answer = await cli.client().request<{
        cleared: { syncId: string; fence: number; lockedAt: string } | null;
      }>("DELETE", "/api/failover/fence");
      if (cli.json) return cli.print(answer);
      console.log(
        answer.cleared
          ? `cleared the fence of full sync ${answer.cleared.syncId} (its lock taken ${answer.cleared.lockedAt}): the next full sync is taken`
          : "no fence was kept: nothing to clear",
      );
    });

  program
    .command("sync")
    .description(
      "full synchronization (Synchronize State, R12): make the failover an exact copy of this server; needs automatic sync off",
    )
    .option("--wait", "follow the run with a progress bar (stderr); exit 1 if it fails")
    .action(async (options: { wait?: boolean }) => {
      const api = cli.client();
      const { syncId } = await api.request<{ syncId: string }>("POST", "/api/failover/synchronize");
      if (!options.wait) return cli.print({ syncId });
      const view = await followFullSync(api, syncId);
      if (cli.json) cli.print(view);
      else if (view.state === "succeeded")
        console.log(
          `full sync ${syncId} succeeded: ${view.items.total ?? view.items.done} items, ${view.domains.done} domains in ${(view.durationMs / 1000).toFixed(1)} s`,
        );
      if (view.state !== "succeeded") {
        throw new OutcomeError(
          "sync_failed",
          `full sync ${syncId} failed: ${view.reason ?? "unknown reason"}`,
        );
      }
    });
}

function seconds(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0.2 || number > 3600)
    throw new UsageError(`--interval is seconds from 0.2 to 3600, not ${value}`);
  return number;
}

function showStatus(cli: Cli, status: StatusView): void {
  if (cli.json) cli.print(status);
  else console.log(formatStatus(status));
}

/**
 * Reads and shows the status until Ctrl-C: on a terminal in place (the previous block is
 * overwritten), else one block after another (--json: one JSON object a line). A failed read is
 * shown and retried: during an outage the region watched may go and come back.
 */
async function watch(cli: Cli, read: () => Promise<StatusView>, intervalSeconds: number) {
  const tty = process.stdout.isTTY === true && !cli.json;
  let shown = 0;
  process.once("SIGINT", () => process.exit(EXIT.ok));
  for (;;) {
    let text: string;
    try {
      const status = await read();
      text = cli.json ? JSON.stringify(status) : formatStatus(status);
    } catch (error) {
      text = cli.json
        ? JSON.stringify({ error: { message: (error as Error).message } })
        : `error: ${(error as Error).message}`;
    }
    const stamp = `${new Date().toISOString().slice(11, 19)}Z  every ${intervalSeconds} s, Ctrl-C stops`;
    if (tty) {
      // Back to the first line of the previous block, then clear to the end of the screen.
      const block = `${text}\n\n${stamp}`;
      process.stdout.write(`${shown ? `\x1b[${shown}F\x1b[J` : ""}${block}\n`);
      shown = block.split("\n").length;
    } else {
      process.stdout.write(cli.json ? `${text}\n` : `${text}\n\n`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalSeconds * 1000));
  }
}

/** Polls the run until it ends, drawing a progress bar on stderr (one line per step when not a TTY). */
async function followFullSync(api: AdminClient, syncId: string): Promise<FullSyncView> {
  const tty = process.stderr.isTTY === true;
  let lastStep = "";
  for (;;) {
    const view = await api.request<FullSyncView>(
      "GET",
      `/api/failover/syncs/${encodeURIComponent(syncId)}`,
    );
    const total = view.domains.total ?? 0;
    const fraction =
      view.state === "succeeded"
        ? 1
        : view.step === "copy" && total > 0
          ? Math.min(1, view.domains.done / total)
          : ["verify", "start", "finish"].includes(view.step)
            ? 1
            : 0;
    const width = 30;
    const filled = Math.round(fraction * width);
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${view.step.padEnd(8)} domains ${view.domains.done}/${view.domains.total ?? "?"}  items ${view.items.done}  ${(view.durationMs / 1000).toFixed(1)} s`;
    if (tty) process.stderr.write(`\r${line}`);
    else if (view.step !== lastStep || view.state !== "running") process.stderr.write(`${line}\n`);
    lastStep = view.step;
    if (view.state !== "running") {
      if (tty) process.stderr.write("\n");
      return view;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
