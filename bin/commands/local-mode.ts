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
      'local mode, for tests and demos: publish a Failover Synchronization event on this region\'s bus, which runs the matching triggers (e.g. Success=false Reason="peer down")',
    )
    .option("--data <json>", "the whole event detail as a JSON object")
    .action(async (pairs: string[], options: { data?: string }) => {
      cli.print(
        await cli.client().request("POST", "/_local/events", await bodyFrom(pairs, options)),
      );
    });
}
