import { spawn } from "node:child_process";
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort } from "../../infra/local/ports.ts";
import { waitFor } from "../support/wait.ts";

const reachable = (url: string) =>
  fetch(`${url}/health`).then(
    (response) => response.ok,
    () => false,
  );

describe("npm start", () => {
  it("stops both regions when npm itself gets SIGTERM (as a supervisor sends it)", async () => {
    const [primaryPort, failoverPort] = await Promise.all([freePort(), freePort()]);
    const npm = spawn("npm", ["start"], {
      env: {
        ...process.env,
        MFT_PRIMARY_PORT: String(primaryPort),
        MFT_FAILOVER_PORT: String(failoverPort),
        MFT_SEED: "0",
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
    let output = "";
    npm.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const primary = `http://127.0.0.1:${primaryPort}`;
    await waitFor(() => output.includes("Ctrl-C stops everything"), 60_000, "the start banner");
    expect(await reachable(primary)).toBe(true);

    npm.kill("SIGTERM");

    // npm forwards the signal to its script; the server must get it, not be left orphaned.
    await waitFor(async () => !(await reachable(primary)), 20_000, "production to stop");
    await waitFor(async () => !(await reachable(`http://127.0.0.1:${failoverPort}`)), 5_000);
  });
});
