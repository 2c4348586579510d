import type { Command } from "commander";
import { type Cli, EXIT, OutcomeError, portFromEnv, UsageError } from "../context.ts";

/** A whole number from an environment variable, within bounds, or a usage error naming it. */
function wholeNumber(name: string, value: string, max: number, unit: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max)
    throw new UsageError(
      `${name} must be a whole number of ${unit} from 1 to ${max}, not ${value}`,
    );
  return number;
}

/** `npm start`: both regions on this machine (R24). */
export function register(program: Command, cli: Cli): void {
  program
    .command("local")
    .description("run production and the failover on this machine (what `npm start` runs)")
    .addHelpText(
      "after",
      `
Environment:
  MFT_PRIMARY_PORT, MFT_FAILOVER_PORT  the regions' admin API ports (8610, 8620)
  MFT_ADMIN_PASSWORD                   the admin password, or @file, or - (else one is made up
                                       and printed; one given is never printed)
  MFT_DATA_DIR                         keep the tables in this folder (else in memory)
  MFT_SEED=0                           start without the sample data
  MFT_SMTP_PORT                        the local mailbox's SMTP port
  MFT_HEARTBEAT_SECONDS                production's heartbeat interval
  MFT_HISTORY_DAYS                     how long history keeps a change (7; rewind, R26)
Needs Java 17 or newer (DynamoDB Local).`,
    )
    .action(async () => {
      const env = process.env;
      const given = cli.options.password;
      const options = {
        // MFT_PRIMARY_PORT: the SPEC's name for production's port (§8), kept as it is.
        productionPort: portFromEnv("MFT_PRIMARY_PORT", 8610),
        failoverPort: portFromEnv("MFT_FAILOVER_PORT", 8620),
        ...(env.MFT_DATA_DIR ? { dataDir: env.MFT_DATA_DIR } : {}),
        ...(given ? { adminPassword: given } : {}),
        seed: env.MFT_SEED !== "0",
        ...(env.MFT_SMTP_PORT ? { smtpPort: portFromEnv("MFT_SMTP_PORT", 0) } : {}),
        ...(env.MFT_HEARTBEAT_SECONDS
          ? {
              heartbeatSeconds: wholeNumber(
                "MFT_HEARTBEAT_SECONDS",
                env.MFT_HEARTBEAT_SECONDS,
                86_400,
                "seconds",
              ),
            }
          : {}),
        ...(env.MFT_HISTORY_DAYS
          ? { historyDays: wholeNumber("MFT_HISTORY_DAYS", env.MFT_HISTORY_DAYS, 365, "days") }
          : {}),
      };
      // The bundled CLI (bin/dist) leaves the runtime as TypeScript: it reads files beside its
      // source (DynamoDB Local's launcher) and loads only here, so tsx compiles it now.
      if (import.meta.url.endsWith(".js")) (await import("tsx/esm/api")).register();
      const { checkPrerequisites, LocalStartupError } = await import(
        "../../infra/local/dynamodb-local.ts"
      );
      const { checkPortsFree } = await import("../../infra/local/ports.ts");
      const { startLocal } = await import("../../infra/local/runtime.ts");
      let runtime: Awaited<ReturnType<typeof startLocal>>;
      try {
        checkPrerequisites();
        await checkPortsFree([
          { port: options.productionPort, name: "production, MFT_PRIMARY_PORT" },
          { port: options.failoverPort, name: "failover, MFT_FAILOVER_PORT" },
          { port: options.smtpPort ?? 0, name: "SMTP, MFT_SMTP_PORT" },
        ]);
        runtime = await startLocal(options);
      } catch (error) {
        // A one-line reason (Java missing, port taken), without a stack.
        if (error instanceof LocalStartupError)
          throw new OutcomeError("cannot_start", error.message);
        throw error;
      }
      console.log(
        [
          "mft-failover local mode",
          `  production  ${runtime.production.url}`,
          `  failover    ${runtime.failover.url}`,
          `  console     ${runtime.production.url}/  (the failover's: ${runtime.failover.url}/)`,
          // Printed only when made up here: one given may be on a screen others see.
          `  admin       ${runtime.admin.username} / ${given ? `the password given in ${cli.passwordFrom}` : runtime.admin.password}`,
          `  mail        smtp://${runtime.mail.host}:${runtime.mail.port}  (trigger emails; \`mft-failover mail list\`)`,
          `  data        ${env.MFT_DATA_DIR ?? "in memory (set MFT_DATA_DIR to keep it)"}`,
          "Ctrl-C stops everything.",
        ].join("\n"),
      );
      const shutdown = async (signal: string) => {
        console.log(`${signal}: stopping both regions…`);
        await runtime.stop();
        console.log("mft-failover local mode stopped");
        process.exit(EXIT.ok);
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
    });
}
