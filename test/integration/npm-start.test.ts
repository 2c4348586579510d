import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort } from "../../infra/local/ports.ts";
import { waitFor } from "../support/wait.ts";

const reachable = (url: string) =>
  fetch(`${url}/health`).then(
    (response) => response.ok,
    () => false,
  );

/** `npm start` on free ports, up to its banner; ended with its whole group after the test. */
async function npmStart(env: Record<string, string> = {}) {
  const [productionPort, failoverPort] = await Promise.all([freePort(), freePort()]);
  const npm = spawn("npm", ["start"], {
    env: {
      ...process.env,
      MFT_PRIMARY_PORT: String(productionPort),
      MFT_FAILOVER_PORT: String(failoverPort),
      MFT_SEED: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
    // Its own process group, so that the cleanup can end whatever it left behind.
    detached: true,
  });
  onTestFinished(() => {
    try {
      if (npm.pid) process.kill(-npm.pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  });
  const started = { npm, productionPort, failoverPort, output: "" };
  npm.stdout.on("data", (chunk: Buffer) => {
    started.output += chunk.toString();
  });
  // A JVM and both regions, beside three other test files on two cores: give it time.
  await waitFor(
    () => started.output.includes("Ctrl-C stops everything"),
    120_000,
    "the start banner",
  );
  return started;
}

// Up to its banner a start takes seconds, a minute on a loaded machine: waitFor bounds it.
describe("npm start", { timeout: 180_000 }, () => {
  it("stops both regions when npm itself gets SIGTERM (as a supervisor sends it)", async () => {
    const started = await npmStart();
    const { npm, productionPort, failoverPort } = started;
    const production = `http://127.0.0.1:${productionPort}`;
    expect(await reachable(production)).toBe(true);

    npm.kill("SIGTERM");

    // npm forwards the signal to its script; the server must get it, not be left orphaned.
    await waitFor(async () => !(await reachable(production)), 20_000, "production to stop");
    await waitFor(async () => !(await reachable(`http://127.0.0.1:${failoverPort}`)), 5_000);
    await waitFor(
      () => started.output.includes("mft-failover local mode stopped\n"),
      5_000,
      "its last line",
    );
  });

  it("never prints a password it was given, only one it made up (issue 22.10)", async () => {
    const given = "given-Admin-Passw0rd";
    const { output } = await npmStart({ MFT_ADMIN_PASSWORD: given });
    expect(output).not.toContain(given);
    expect(output).toContain("  admin       admin / the password given in MFT_ADMIN_PASSWORD\n");
  });

  it("exits non-zero at once, saying why, when Java is too old (a prerequisite)", async () => {
    // A `java` first on the PATH that reports version 11: DynamoDB Local needs 17.
    const bin = await javaShim("echo 'openjdk version \"11.0.2\" 2019-01-15' >&2");
    const [productionPort, failoverPort] = await Promise.all([freePort(), freePort()]);
    const started = Date.now();

    const result = await npmStartUntilExit(bin, productionPort, failoverPort);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      "error: Java 17 or newer is required for DynamoDB Local; found Java 11",
    );
    expect(result.stdout).not.toContain("Ctrl-C stops everything");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await reachable(`http://127.0.0.1:${productionPort}`)).toBe(false);
  });

  it("names a port already in use, before it starts anything", async () => {
    // The real java, behind a shim that logs how it was called: only `java -version` may run.
    const calls = join(await mkdtemp(join(tmpdir(), "java-calls-")), "calls");
    const bin = await javaShim(`echo "$*" >> ${calls}\nexec ${realJava()} "$@"`);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const failoverPort = (taken.address() as AddressInfo).port;

    const result = await npmStartUntilExit(bin, await freePort(), failoverPort);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      `error: port ${failoverPort} is already in use (failover, MFT_FAILOVER_PORT)`,
    );
    expect((await readFile(calls, "utf8")).trim().split("\n")).toEqual(["-version"]);
  });
});

/** A folder holding a `java` script with this body, to put first on the PATH. */
async function javaShim(body: string): Promise<string> {
  const bin = await mkdtemp(join(tmpdir(), "java-shim-"));
  onTestFinished(() => rm(bin, { recursive: true, force: true }));
  await writeFile(join(bin, "java"), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return bin;
}

function realJava(): string {
  return execFileSync("sh", ["-c", "command -v java"], { encoding: "utf8" }).trim();
}

/** `npm start` with `bin` first on the PATH, run until it exits by itself. */
function npmStartUntilExit(bin: string, productionPort: number, failoverPort: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const npm = spawn("npm", ["start", "--silent"], {
      detached: true,
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        MFT_PRIMARY_PORT: String(productionPort),
        MFT_FAILOVER_PORT: String(failoverPort),
        MFT_SEED: "0",
      },
    });
    let stdout = "";
    let stderr = "";
    npm.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    npm.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // No timer of its own: a process that keeps running fails the test by its timeout, and is
    // ended then.
    onTestFinished(() => {
      try {
        if (npm.pid) process.kill(-npm.pid, "SIGKILL");
      } catch {
        // Ended already.
      }
    });
    npm.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
