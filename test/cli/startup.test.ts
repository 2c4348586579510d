import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, symlink, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { cli } from "./run.ts";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");

/**
 * A copy of the CLI's sources (and a link to node_modules) where the bundle can be built and
 * made stale without touching the working tree that other tests run.
 */
async function copy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cli-copy-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  for (const folder of ["bin", "shared", "functions", "infra/local"]) {
    await cp(join(repo, folder), join(dir, folder), {
      recursive: true,
      filter: (source) => !source.includes("/bin/dist"),
    });
  }
  await cp(join(repo, "package.json"), join(dir, "package.json"));
  await symlink(join(repo, "node_modules"), join(dir, "node_modules"));
  return dir;
}

describe("start-up: the bundle built at install, the source when it is missing or stale", () => {
  it("builds bin/dist with `npm run prepare` and runs it; a changed source runs from TypeScript", async () => {
    const dir = await copy();
    await run("npm", ["run", "prepare", "--silent"], { cwd: dir });

    const bundled = await run("node", ["bin/mft-failover.js", "--help"], {
      cwd: dir,
      env: { ...process.env, MFT_CLI_TRACE: "1" },
    });
    // Made stale: a source it was built from changed after the build.
    const later = new Date(Date.now() + 5_000);
    await utimes(join(dir, "bin/commands/region.ts"), later, later);
    const stale = await run("node", ["bin/mft-failover.js", "--help"], {
      cwd: dir,
      env: { ...process.env, MFT_CLI_TRACE: "1" },
    });
    await rm(join(dir, "bin/dist"), { recursive: true });
    const missing = await run("node", ["bin/mft-failover.js", "--help"], {
      cwd: dir,
      env: { ...process.env, MFT_CLI_TRACE: "1" },
    });

    expect(bundled.stderr).toBe("mft-failover: bundle\n");
    expect(stale.stderr).toBe("mft-failover: source\n");
    expect(missing.stderr).toBe("mft-failover: source\n");
    for (const result of [bundled, stale, missing]) {
      expect(result.stdout).toContain("Usage: mft-failover");
    }
  });

  it("`openapi` prints the admin API's OpenAPI document without a server", async () => {
    const { code, stdout } = await cli("--url", "http://127.0.0.1:9", "openapi");

    expect(code).toBe(0);
    const document = JSON.parse(stdout) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\.1/);
    expect(Object.keys(document.paths)).toContain("/api/failover/status");
  });
});
