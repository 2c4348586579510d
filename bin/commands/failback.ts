import type { Command } from "commander";
import { type Cli, OutcomeError, password } from "../context.ts";

interface FailbackView {
  failbackId: string;
  state: "running" | "succeeded" | "failed";
  step: string;
  steps: { name: string; state: string; reason?: string }[];
}

interface FailbackOptions {
  resume?: string;
  host?: string;
  port?: number;
  tls: boolean;
  productionUser?: string;
  productionPassword?: string;
}

/** R19: back on production after a region loss, followed step by step. */
export function register(program: Command, cli: Cli): void {
  program
    .command("failback")
    .description(
      "on production, back after a region loss: take the failover's configuration and sync to it again, in six checked steps (R19); follows the run to its end, exits 1 if it fails",
    )
    .option("--resume <failbackId>", "continue a failed failback from the step that failed")
    .option(
      "--host <host>",
      "production's host as the failover reaches it (local mode: this server)",
    )
    .option("--port <port>", "production's port", (value) => Number(value))
    .option("--no-tls", "the failover reaches production over plain http (loopback only)")
    .option("--production-user <name>", "production's admin user, for the failover")
    .option(
      "--production-password <password>",
      "production's admin password, for the failover (@file, or - to type it or read it from standard input)",
    )
    .action(async (options: FailbackOptions) => {
      const api = cli.client();
      const production = options.host
        ? {
            production: {
              host: options.host,
              ...(options.port ? { port: options.port } : {}),
              useTls: options.tls,
              username: options.productionUser ?? cli.options.user,
              password: options.productionPassword
                ? await password(
                    options.productionPassword,
                    "--production-password",
                    "production's admin password",
                  )
                : cli.options.password,
            },
          }
        : {};
      const { failbackId } = await api.request<{ failbackId: string }>(
        "POST",
        "/api/failover/failback",
        { ...(options.resume ? { resume: options.resume } : {}), ...production },
      );
      if (!cli.json) console.log(`failback ${failbackId}`);
      const shown = new Set<string>();
      for (;;) {
        const view = await api.request<FailbackView>(
          "GET",
          `/api/failover/failbacks/${failbackId}`,
        );
        for (const [index, step] of view.steps.entries()) {
          const line = `  ${index + 1}. ${step.name.padEnd(26)} ${step.state}${step.reason ? `: ${step.reason}` : ""}`;
          if (cli.json || step.state === "pending" || step.state === "running" || shown.has(line))
            continue;
          shown.add(line);
          console.log(line);
        }
        if (view.state !== "running") {
          if (cli.json) cli.print(view);
          if (view.state === "failed") {
            throw new OutcomeError(
              "failback_failed",
              `stopped at ${view.step}; fix the cause, then: failback --resume ${failbackId}`,
            );
          }
          if (!cli.json) console.log("done: production serves again and syncs to the failover");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    });
}
