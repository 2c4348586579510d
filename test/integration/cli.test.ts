import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { unique } from "../support/api.ts";
import { startOwnRuntime } from "../support/runtime.ts";

const run = promisify(execFile);

/** Runs the installed CLI entry as a user would, against production (of `target`). */
async function cli(...args: string[]) {
  return cliOf({ url: inject("productionUrl"), password: inject("adminPassword") }, ...args);
}

async function cliOf(target: { url: string; password: string }, ...args: string[]) {
  try {
    const { stdout, stderr } = await run("node", ["bin/mft-failover.js", ...args], {
      env: { ...process.env, MFT_URL: target.url, MFT_ADMIN_PASSWORD: target.password },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("the mft-failover CLI (R23)", () => {
  it("creates a domain with a user and an SFTP service, and reads them back as JSON", async () => {
    const domain = unique("cli");
    expect((await cli("domains", "put", domain, "description=From the CLI")).code).toBe(0);
    expect(
      (
        await cli(
          "users",
          "put",
          domain,
          "carol",
          "password=carol-secret-1",
          "homeDirectory=/data/carol",
        )
      ).code,
    ).toBe(0);
    const service = await cli(
      "services",
      "put",
      domain,
      "sftp",
      "protocol=SFTP",
      "ip=10.0.0.21",
      "port=22",
    );
    expect(service.code).toBe(0);

    const users = await cli("--json", "users", "list", domain);
    expect(JSON.parse(users.stdout)).toEqual({
      items: [
        expect.objectContaining({
          username: "carol",
          homeDirectory: "/data/carol",
          passwordSet: true,
        }),
      ],
    });
    expect(users.stdout).not.toContain("carol-secret-1");
    expect((await cli("services", "get", domain, "sftp")).stdout).toMatch(/^sftp .*port=22/);
  });

  it("prints settings, which have no id, as key=value only, the password never", async () => {
    const { code, stdout } = await cli("failover", "get");

    expect(code).toBe(0);
    const fields = stdout.trim().split("  ");
    expect(fields.every((field) => /^[A-Za-z]+=/.test(field))).toBe(true);
    expect(fields).toContain("passwordSet=true");
    expect(stdout).not.toContain(inject("adminPassword"));
  });

  it("exits non-zero with the API's error on stderr", async () => {
    const result = await cli(
      "services",
      "put",
      unique("nodomain"),
      "x",
      "protocol=SFTP",
      "ip=1.2.3.4",
      "port=22",
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: 404 not_found: domain .* not found/);
  });

  it("says what is missing without credentials", async () => {
    const { code, stderr } = await promisify(execFile)(
      "node",
      ["bin/mft-failover.js", "domains", "list"],
      {
        env: { ...process.env, MFT_ADMIN_PASSWORD: "" },
      },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    // A usage error: nothing was sent.
    expect(code).toBe(2);
    expect(stderr).toContain("admin password is needed");
  });
});

describe("mft-failover failover set", () => {
  // Its own regions: changing production's failover settings would disturb the other files.
  let runtime: LocalRuntime;
  let target: { url: string; password: string };
  beforeAll(async () => {
    runtime = await startOwnRuntime();
    target = { url: runtime.production.url, password: runtime.admin.password };
  });
  afterAll(() => runtime?.stop());

  it("changes the fields given and keeps the others, the password included", async () => {
    const before = await runtime.production.services.failoverSettings.get();

    const { code } = await cliOf(target, "failover", "set", "autoSync=false", "timeoutMs=2500");

    expect(code).toBe(0);
    expect(await runtime.production.services.failoverSettings.get()).toEqual({
      ...before,
      autoSync: false,
      timeoutMs: 2500,
    });
    expect((await runtime.production.services.failoverSettings.peerCredentials())?.password).toBe(
      runtime.admin.password,
    );
  });

  it("with --replace, resets the fields not given to their defaults", async () => {
    const { code } = await cliOf(target, "failover", "set", "--replace", "autoSync=false");

    expect(code).toBe(0);
    expect(await runtime.production.services.failoverSettings.get()).toMatchObject({
      enabled: false,
      port: 443,
      useTls: true,
      autoSync: false,
    });
  });
});
