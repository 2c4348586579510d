import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { unique } from "../support/api.ts";

const run = promisify(execFile);

/** Runs the installed CLI entry as a user would, against production. */
async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run("node", ["bin/mft-failover.js", ...args], {
      env: {
        ...process.env,
        MFT_URL: inject("primaryUrl"),
        MFT_ADMIN_PASSWORD: inject("adminPassword"),
      },
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
    expect(code).toBe(1);
    expect(stderr).toContain("admin password is needed");
  });
});
