import type { Command } from "commander";
import { bodyFrom, type Cli } from "../context.ts";

interface MailView {
  id: number;
  receivedAt: string;
  from: string;
  to: string[];
  subject: string;
}

interface TriggerRunView {
  triggerId: string;
  eventId: string;
  finishedAt: string;
  ok: boolean;
  actions: {
    type: string;
    target: string;
    ok: boolean;
    attempts: number;
    status?: number;
    error?: string;
  }[];
}

/** Triggers (R17): what they did, and local mode's mailbox and event publisher (/_local/...). */
export function register(program: Command, cli: Cli): void {
  const triggers = program.commands.find((command) => command.name() === "triggers");
  if (!triggers) throw new Error("register the triggers resource first");
  triggers
    .command("runs")
    .description("local mode: recent trigger runs and each action's result")
    .action(async () => {
      const { items } = await cli
        .client()
        .request<{ items: TriggerRunView[] }>("GET", "/_local/trigger-runs");
      if (cli.json) return cli.print({ items });
      if (items.length === 0) console.log("no trigger runs yet");
      for (const run of items) {
        console.log(
          `${run.finishedAt}  ${run.triggerId}  event=${run.eventId}  ${run.ok ? "ok" : "FAILED"}`,
        );
        for (const action of run.actions) {
          const outcome = action.ok ? "ok" : `failed: ${action.error ?? ""}`;
          const status = action.status !== undefined ? ` HTTP ${action.status}` : "";
          console.log(
            `  ${action.type} ${action.target}  attempts=${action.attempts}${status}  ${outcome}`,
          );
        }
      }
    });

  const mail = program
    .command("mail")
    .description("local mode: the mailbox of its SMTP server (what email actions sent)");
  mail
    .command("list")
    .description("messages received, oldest first")
    .action(async () => {
      const answer = await cli
        .client()
        .request<{ smtp: string; items: MailView[] }>("GET", "/_local/mail");
      if (cli.json) return cli.print(answer);
      if (answer.items.length === 0) console.log(`no messages yet (SMTP ${answer.smtp})`);
      for (const m of answer.items) {
        console.log(`${m.id}  ${m.receivedAt}  to=${m.to.join(",")}  ${m.subject}`);
      }
    });
  mail
    .command("show <id>")
    .description("one message: headers and text")
    .action(async (id: string) => {
      const m = await cli
        .client()
        .request<MailView & { text: string }>("GET", `/_local/mail/${encodeURIComponent(id)}`);
      if (cli.json) return cli.print(m);
      console.log(
        [
          `From: ${m.from}`,
          `To: ${m.to.join(", ")}`,
          `Date: ${m.receivedAt}`,
          `Subject: ${m.subject}`,
          "",
          m.text,
        ].join("\n"),
      );
    });

  program
    .command("publish-event [fields...]")
    .description(
      'local mode, for tests and demos: publish a Failover Synchronization event on this region\'s bus as a sync would, and say which triggers it matched (e.g. Success=false Reason="peer down")',
    )
    .option("--data <json>", "the whole event detail as a JSON object")
    .addHelpText("after", PUBLISH_HELP)
    .action(async (pairs: string[], options: { data?: string }) => {
      const answer = await cli
        .client()
        .request<PublishedView>("POST", "/_local/events", await bodyFrom(pairs, options));
      if (cli.json) return cli.print(answer);
      const fields = Object.entries(answer.detail).map(
        ([name, value]) => `${name}=${typeof value === "string" ? JSON.stringify(value) : value}`,
      );
      console.log(`published ${answer.id}: ${fields.join(" ")}`);
      console.log(`triggers matched: ${answer.matched.join(", ") || "none"}`);
      if (answer.matched.length > 0) console.log("(what they did: mft-failover triggers runs)");
    });
}

interface PublishedView {
  id: string;
  detail: Record<string, unknown>;
  matched: string[];
}

const PUBLISH_HELP = `
Fields (key=value, or the whole detail with --data):
  Success    true or false (required)
  Mode       automatic (default), on-demand, takeover or failback
  Reason, Message, SyncId   text (optional)
  Items      an integer (default 0)
  Primary, Failover         text (default local-primary, local-failover)
  StartedAt, FinishedAt     ISO times (default now)
PreviousSuccess and Changed are computed as for a sync's own event: Changed is true when
Success differs from this region's previous event of the same Mode (none: a success). So the
event counts as that Mode's last outcome, and as a failure in the SyncFailures metric: publish
Success=true to end a pretended outage.

Example:
  mft-failover publish-event Success=false Reason="peer down"`;
