import { execFile } from "node:child_process";
import { inject } from "vitest";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { startOwnRuntime } from "../support/runtime.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where a call goes and with what environment (MFT_URL, MFT_ADMIN_PASSWORD, …). */
export interface Target {
  url: string;
  password: string;
  env?: Record<string, string>;
  /** What the call reads on standard input (else none: it ends at once). */
  input?: string;
}

/** The test run's shared regions (production's URL). */
export const shared = (): Target => ({
  url: inject("productionUrl"),
  password: inject("adminPassword"),
});

/** Runs the installed CLI entry as a user would, as its own process. */
export function cliOf(target: Target, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      "node",
      ["bin/mft-failover.js", ...args],
      {
        // A call that hangs (a mutation, a server that never answers) ends as a failure.
        timeout: 25_000,
        killSignal: "SIGKILL",
        env: {
          ...process.env,
          MFT_URL: target.url,
          MFT_ADMIN_PASSWORD: target.password,
          ...target.env,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(target.input ?? "");
  });
}

/** The CLI against the shared regions' production. */
export const cli = (...args: string[]) => cliOf(shared(), ...args);

/** The `{"error": …}` object a failed call prints on stderr with --json. */
export function errorObject(result: CliResult): { code: string; message: string } {
  const parsed = JSON.parse(result.stderr) as { error: { code: string; message: string } };
  return parsed.error;
}

/**
 * Regions of a test's own (one that takes them out or makes drift), with the environment `npm
 * start` on their ports would give: the CLI falls back to the other region through it.
 */
export async function ownRegions(): Promise<{
  runtime: LocalRuntime;
  production: Target;
  failover: Target;
}> {
  const runtime = await startOwnRuntime();
  const env = {
    MFT_PRIMARY_PORT: new URL(runtime.production.url).port,
    MFT_FAILOVER_PORT: new URL(runtime.failover.url).port,
  };
  const production = { url: runtime.production.url, password: runtime.admin.password, env };
  return { runtime, production, failover: { ...production, url: runtime.failover.url } };
}
