import { Command, CommanderError, Option } from "commander";
import { ApiError, UnreachableError } from "./api-client.ts";
import * as failback from "./commands/failback.ts";
import * as failover from "./commands/failover.ts";
import * as history from "./commands/history.ts";
import * as local from "./commands/local.ts";
import * as localMode from "./commands/local-mode.ts";
import * as openapi from "./commands/openapi.ts";
import * as region from "./commands/region.ts";
import * as resources from "./commands/resources.ts";
import { Cli, EXIT, OutcomeError, UsageError } from "./context.ts";

// Known before parsing, so that even a parse error is reported as JSON.
const json = process.argv.slice(2).includes("--json");

const program = new Command("mft-failover")
  .description(
    "Failover server for an MFT server: its admin API from the shell, and both regions on this machine (local).",
  )
  .addOption(
    new Option("--url <url>", "admin API of the server to talk to")
      .env("MFT_URL")
      .default("http://127.0.0.1:8610"),
  )
  .addOption(new Option("--user <name>", "admin user").env("MFT_USER").default("admin"))
  .addOption(
    new Option(
      "--password <password>",
      "admin password: @file reads it from a file, - asks for it (or reads standard input)",
    ).env("MFT_ADMIN_PASSWORD"),
  )
  .option("--json", "print the answer as JSON (errors too, on stderr)")
  // Settings inherited by every subcommand added below: a typo prints commander's suggestion
  // and this hint, not the whole help; errors come here instead of exiting.
  .showHelpAfterError("(add --help for usage)")
  .exitOverride()
  .configureOutput({
    writeErr: (text) => {
      if (!json) process.stderr.write(text);
    },
  })
  .addHelpText(
    "after",
    `
Exit codes: 0 done; 1 the server refused or the operation failed; 2 wrong command line or
environment; 3 no answer at the URL; 4 \`failover verify\` found differences (\`failover wait\`:
differences sync will not carry); 5 \`failover wait\` timed out; 6 \`failover status\`: not in step.
\`<command> --help\` shows a command's fields and examples.`,
  );

const cli = new Cli(program);
program.hook("preAction", () => cli.readPassword());
for (const area of [resources, history, localMode, failover, failback, region, local, openapi]) {
  area.register(program, cli);
}

/** Reports `error` on stderr (as `{"error":…}` with --json) and gives the exit code. */
function report(error: unknown): number {
  const [code, exit, message, extra] =
    error instanceof ApiError
      ? [
          error.code,
          EXIT.failed,
          `${error.status} ${error.code}: ${error.message}`,
          { status: error.status },
        ]
      : error instanceof UnreachableError
        ? [
            "unreachable",
            EXIT.unreachable,
            `${error.message} — is \`npm start\` running? If that region is down or offline, give the other one's URL with --url (or MFT_URL)`,
            { url: error.url },
          ]
        : error instanceof OutcomeError
          ? [error.code, error.exit, error.message, {}]
          : error instanceof UsageError
            ? ["usage", EXIT.usage, error.message, {}]
            : ["error", EXIT.failed, error instanceof Error ? error.message : String(error), {}];
  if (json)
    console.error(
      JSON.stringify({
        error: { code, message: error instanceof ApiError ? error.message : message, ...extra },
      }),
    );
  else console.error(`error: ${message}`);
  return exit;
}

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    if (error.exitCode === 0) process.exit(EXIT.ok);
    if (json) {
      const message = error.message.replace(/^error: /, "");
      console.error(JSON.stringify({ error: { code: "usage", message } }));
    }
    process.exit(EXIT.usage);
  }
  // At once: a failed `local` leaves servers listening that would keep the process alive.
  process.exit(report(error));
}
