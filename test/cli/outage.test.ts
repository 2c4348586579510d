import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { waitFor } from "../support/wait.ts";
import { cliOf, errorObject, ownRegions, type Target } from "./run.ts";

// The README's outage walkthrough with the CLI alone. Regions of its own: it takes them out.
let runtime: LocalRuntime;
let production: Target;
let failover: Target;
const cli = (...args: string[]) => cliOf(production, ...args);

beforeAll(async () => {
  ({ runtime, production, failover } = await ownRegions());
});
afterAll(() => runtime?.stop());

const LABELS = ["state", "connection", "heartbeat", "queue", "lag", "last event", "last full sync"];

describe("failover status and resume: a short aligned block", () => {
  it("shows state, connection, heartbeat, queue, lag, last event and last full sync", async () => {
    const { code, stdout } = await cli("failover", "status");

    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines.map((line) => line.split(/ {2,}/)[0])).toEqual(LABELS);
    // Aligned: every value starts in the same column.
    const column = lines[0]?.search(/ {2}\S/);
    expect(lines.every((line) => line.search(/ {2}\S/) === column)).toBe(true);
    expect(lines[0]).toMatch(/^state +active/);
    expect(stdout).toMatch(/^queue +no changes on their way; 0 in the dead-letter queue$/m);
    expect(stdout).not.toContain("{");
  });

  it("keeps the full object with --json", async () => {
    const { code, stdout } = await cli("--json", "failover", "status");

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      module: { enabled: true, autoSync: true },
      sync: { state: "active" },
      queue: { queued: 0, inFlight: 0, deadLettered: 0 },
      lag: { windowSeconds: 300 },
    });
  });

  it("resume, with nothing suspended, says so and shows the same block", async () => {
    const { code, stdout } = await cli("failover", "resume");

    expect(code).toBe(0);
    const [first, blank, ...block] = stdout.trimEnd().split("\n");
    expect([first, blank]).toEqual(["automatic sync was not suspended: nothing to resume", ""]);
    expect(block.map((line) => line.split(/ {2,}/)[0])).toEqual(LABELS);
  });

  it("--watch refreshes in place on a terminal", async () => {
    // `script` gives the CLI a pseudo-terminal, as a person's shell would.
    const child = spawn(
      "script",
      ["-qfec", "node bin/mft-failover.js failover status --watch --interval 0.2", "/dev/null"],
      {
        env: {
          ...process.env,
          MFT_URL: production.url,
          MFT_ADMIN_PASSWORD: production.password,
        },
        stdio: ["ignore", "pipe", "inherit"],
        detached: true,
      },
    );
    onTestFinished(() => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // Ended already.
      }
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });

    await waitFor(() => output.split("state ").length > 3, 15_000, "three refreshes");

    // Each refresh moves back to the block's first line and clears below it.
    const blockLines = LABELS.length + 2;
    expect(output.split(`\x1b[${blockLines}F\x1b[J`).length).toBeGreaterThanOrEqual(3);
    expect(output).toContain("Ctrl-C stops");
  });

  it("--watch without a terminal prints one block after another, --json one object a line", async () => {
    const child = spawn(
      "node",
      ["bin/mft-failover.js", "--json", "failover", "status", "--watch", "--interval", "0.2"],
      {
        env: { ...process.env, MFT_URL: production.url, MFT_ADMIN_PASSWORD: production.password },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    onTestFinished(() => {
      child.kill("SIGKILL");
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });

    await waitFor(() => output.split("\n").length > 3, 15_000, "three refreshes");

    const lines = output.split("\n").slice(0, 3);
    expect(lines.map((line) => JSON.parse(line).sync.state)).toEqual([
      "active",
      "active",
      "active",
    ]);
    expect(output).not.toContain("\x1b[");
  });
});

describe("failover test", () => {
  it("exits 0 when the failover answers", async () => {
    const { code, stdout } = await cli("failover", "test");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ok: the failover \S+ answered in \d+ ms/);
  });

  it("exits 1 naming the failed step when it does not; --json keeps the answer", async () => {
    expect((await cli("region", "failover", "offline")).code).toBe(0);
    onTestFinished(async () => {
      await cli("region", "failover", "online");
    });

    const plain = await cli("failover", "test");
    const json = await cli("--json", "failover", "test");

    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^error: the test failed at connect: /);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, failed: "connect" });
    expect(errorObject(json)).toMatchObject({ code: "test_failed" });
  });
});

describe("region: local mode's outage switch", () => {
  it("--help lists the region names and their states", async () => {
    const { code, stdout } = await cli("region", "--help");

    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}production +\(also: primary\)/m);
    expect(stdout).toMatch(/^ {2}failover +http/m);
    for (const state of ["up", "offline", "down"])
      expect(stdout).toMatch(new RegExp(`^  ${state} `, "m"));
  });

  it("takes production offline from its own URL, reports success, and brings it back from there", async () => {
    const offline = await cli("region", "production", "offline");

    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain("production is offline");
    expect(runtime.production.state()).toBe("offline");

    // --url still names production, which does not answer: the failover is asked instead.
    const online = await cli("region", "production", "online");

    expect(online.code).toBe(0);
    expect(online.stdout).toBe("production is online: its API answers again.\n");
    expect(online.stderr).toBe(
      `(${runtime.production.url} does not answer: asked ${runtime.failover.url})\n`,
    );
    expect(runtime.production.state()).toBe("up");
  });

  it("with --json prints the region and nothing else", async () => {
    const down = await cliOf(failover, "--json", "region", "production", "down");
    const up = await cli("--json", "region", "production", "up");

    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ name: "production", state: "down" });
    expect(up.code).toBe(0);
    expect(up.stderr).toBe("");
    expect(JSON.parse(up.stdout)).toMatchObject({ name: "production", state: "up" });
  });

  it("names a wrong region or action: exit 2", async () => {
    const region = await cli("region", "staging", "down");
    const action = await cli("region", "production", "sideways");

    expect(region).toMatchObject({
      code: 2,
      stderr: "error: no region staging: production or failover\n",
    });
    expect(action.code).toBe(2);
    expect(action.stderr).toContain("one of down, up, offline, online");
  });
});

describe("failover verify", () => {
  it("exits 4 when the failover differs, 0 when not", async () => {
    const clean = await cli("failover", "verify");
    expect(clean.code).toBe(0);

    // Made on the failover only: automatic sync carries production's changes, not the reverse.
    expect((await cliOf(failover, "domains", "put", "only-there")).code).toBe(0);
    const drift = await cli("--json", "failover", "verify");

    expect(drift.code).toBe(4);
    expect(JSON.parse(drift.stdout)).toMatchObject({ differences: 1 });
  });
});
