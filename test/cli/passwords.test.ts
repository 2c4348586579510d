import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";
import { cliOf, type Target } from "./run.ts";

/**
 * Every password the CLI takes, given without putting it in argv or the environment (issue
 * 22.10): `@file`, `-` (standard input; a prompt without echo on a terminal). Own regions:
 * `failover set` changes production's failover password.
 */
let runtime: LocalRuntime;
let dir: string;
/** No password in the environment: each test gives it its own way. */
let bare: Target;

beforeAll(async () => {
  runtime = await startOwnRuntime();
  dir = await mkdtemp(join(tmpdir(), "mft-cli-passwords-"));
  bare = { url: runtime.production.url, password: "" };
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function secretFile(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content, { mode: 0o600 });
  return path;
}

describe("the CLI's passwords: a file, standard input or a prompt (issue 22.10)", () => {
  it("reads the admin password from a file with --password @file (its line end dropped)", async () => {
    const file = await secretFile("admin", `${runtime.admin.password}\n`);

    const result = await cliOf(bare, "--password", `@${file}`, "--json", "domains", "list");

    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    // The same from the environment, and a file that cannot be read is a usage error naming it.
    const fromEnv = await cliOf({ ...bare, password: `@${file}` }, "domains", "list");
    expect(fromEnv.code).toBe(0);
    const missing = await cliOf(bare, "--password", `@${dir}/nothing`, "domains", "list");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--password @${dir}/nothing: `);
  });

  it("reads the admin password from standard input with --password -", async () => {
    const result = await cliOf(
      { ...bare, input: `${runtime.admin.password}\n` },
      "--password",
      "-",
      "--json",
      "domains",
      "list",
    );
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    const empty = await cliOf({ ...bare, input: "" }, "--password", "-", "domains", "list");
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("--password -: standard input gave no password");
  });

  it("takes a password= field from a file or standard input, as the failover's password", async () => {
    const target = { ...bare, password: runtime.admin.password };
    const stored = async () =>
      (await runtime.production.services.failoverSettings.peerCredentials())?.password;
    const file = await secretFile("failover", "from-a-File-1\n");

    const fromFile = await cliOf(target, "failover", "set", "username=admin", `password=@${file}`);
    expect(fromFile.code).toBe(0);
    expect(await stored()).toBe("from-a-File-1");

    const fromStdin = await cliOf(
      { ...target, input: "from-Stdin-2\n" },
      "failover",
      "set",
      "username=admin",
      "password=-",
    );
    expect(fromStdin.code).toBe(0);
    expect(await stored()).toBe("from-Stdin-2");
  });

  it("takes failback's --production-password the same way (a file that cannot be read: nothing sent)", async () => {
    const missing = `${dir}/no-production-password`;
    const result = await cliOf(
      { ...bare, password: runtime.admin.password },
      "failback",
      "--host",
      "127.0.0.1",
      "--production-password",
      `@${missing}`,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--production-password @${missing}: ENOENT`);
  });

  it("prompts for --password - on a terminal, without echoing what is typed", async () => {
    // `script` gives the CLI a terminal (a pty), whose echo would show the typed characters.
    const command = `node bin/mft-failover.js --password - --json domains list`;
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { ...process.env, MFT_URL: runtime.production.url, MFT_ADMIN_PASSWORD: "" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    await waitFor(() => output.includes("admin password"), 20_000, "the prompt");
    child.stdin.write(`${runtime.admin.password}\r`);
    expect(await exited).toBe(0);
    expect(output).toContain('"items"');
    expect(output).not.toContain(runtime.admin.password);
  });

  it("warns when Basic credentials would go over plain http to a host that is not loopback", async () => {
    const remote = await cliOf(
      { ...bare, password: "x", url: "http://mft.invalid:8610" },
      "domains",
      "list",
    );
    expect(remote.stderr.split("\n")[0]).toBe(
      "warning: http://mft.invalid:8610 is not https: the admin password would cross the network in clear",
    );
    for (const url of ["https://mft.invalid:8610", "http://localhost:9", "http://[::1]:9"]) {
      const quiet = await cliOf({ ...bare, password: "x", url }, "domains", "list");
      expect(quiet.stderr, url).not.toContain("warning");
    }
  });
});
