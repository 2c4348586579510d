import { describe, expect, it } from "vitest";
import { failoverSettingsInput } from "../../shared/model/schemas.ts";
import { unique } from "../support/api.ts";
import { cli, cliOf, errorObject, shared } from "./run.ts";

// Exit codes (README "CLI"): 0 done, 1 refused or failed, 2 usage, 3 no answer, 4 drift.

describe("--json: valid JSON on stdout, or an error object on stderr", () => {
  it("prints JSON for each read command", async () => {
    for (const args of [
      ["domains", "list"],
      ["failover", "get"],
      ["failover", "status"],
      ["region", "list"],
      ["mail", "list"],
      ["triggers", "runs"],
    ]) {
      const result = await cli("--json", ...args);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({
        args,
        code: 0,
        stderr: "",
      });
      expect(() => JSON.parse(result.stdout), args.join(" ")).not.toThrow();
    }
  });

  it("prints JSON for put and delete", async () => {
    const domain = unique("json");
    const put = await cli("--json", "domains", "put", domain, "description=x");
    expect(put.code).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({ name: domain, description: "x" });

    const deleted = await cli("--json", "domains", "delete", domain);

    expect(deleted.code).toBe(0);
    expect(JSON.parse(deleted.stdout)).toEqual({
      deleted: true,
      path: `/api/domains/${domain}`,
    });
    expect((await cli("domains", "get", domain)).code).toBe(1);
  });

  it("says what it deleted without --json", async () => {
    const domain = unique("del");
    await cli("domains", "put", domain);
    const deleted = await cli("domains", "delete", domain);
    expect(deleted).toEqual({ code: 0, stdout: `deleted domains ${domain}\n`, stderr: "" });
  });

  it("answers an API error with exit 1 and the API's code, status and message", async () => {
    const missing = unique("nodomain");

    const plain = await cli("domains", "get", missing);
    const json = await cli("--json", "domains", "get", missing);

    expect(plain.code).toBe(1);
    expect(plain.stderr).toBe(`error: 404 not_found: domain ${missing} not found\n`);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe("");
    expect(JSON.parse(json.stderr)).toEqual({
      error: { code: "not_found", message: `domain ${missing} not found`, status: 404 },
    });
  });
});

describe("errors that name their cause", () => {
  it("an unreachable server: exit 3, its URL and the likely reason", async () => {
    const target = { ...shared(), url: "http://127.0.0.1:9" };

    const plain = await cliOf(target, "domains", "list");
    const json = await cliOf(target, "--json", "domains", "list");

    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain("cannot reach http://127.0.0.1:9 (connection refused)");
    expect(plain.stderr).toContain("is `npm start` running?");
    expect(json.code).toBe(3);
    expect(errorObject(json)).toMatchObject({ code: "unreachable", url: "http://127.0.0.1:9" });
  });

  it("a URL without a scheme: exit 2, naming where it came from", async () => {
    const fromEnv = await cliOf({ ...shared(), url: "127.0.0.1:8610" }, "domains", "list");
    const fromOption = await cli("--url", "localhost:8610", "domains", "list");

    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toBe(
      "error: MFT_URL 127.0.0.1:8610 has no scheme: give it as http://127.0.0.1:8610 (or https://)\n",
    );
    expect(fromOption.code).toBe(2);
    expect(fromOption.stderr).toContain("--url localhost:8610 has no scheme");
  });

  it("a bad port variable: exit 2, naming the variable, before anything starts", async () => {
    for (const variable of ["MFT_PRIMARY_PORT", "MFT_FAILOVER_PORT"]) {
      const result = await cliOf({ ...shared(), env: { [variable]: "86x0" } }, "local");
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `error: ${variable} must be a port number from 0 to 65535, not "86x0"\n`,
      );
    }
  });

  it("a typo: the suggestion and a hint, not the whole help; exit 2", async () => {
    const plain = await cli("failover", "stauts");
    const json = await cli("--json", "domian");

    expect(plain.code).toBe(2);
    expect(plain.stdout).toBe("");
    expect(plain.stderr).toBe(
      "error: unknown command 'stauts'\n(Did you mean status?)\n(add --help for usage)\n",
    );
    expect(json.code).toBe(2);
    expect(errorObject(json)).toEqual({
      code: "usage",
      message: "unknown command 'domian'\n(Did you mean domains?)",
    });
  });

  it("invalid --data JSON names --data; nothing is sent", async () => {
    const domain = unique("data");

    const result = await cli("domains", "put", domain, "--data", "{description: 1}");
    const notObject = await cli("domains", "put", domain, "--data", "[1]");

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --data is not valid JSON: /);
    expect(notObject.code).toBe(2);
    expect(notObject.stderr).toBe("error: --data must be a JSON object ({…})\n");
    expect((await cli("domains", "get", domain)).code).toBe(1);
  });

  it("without a password: exit 2, saying what is missing", async () => {
    const result = await cliOf({ ...shared(), password: "" }, "domains", "list");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("admin password is needed");
  });

  it("failover set --help names every failover setting", async () => {
    const result = await cli("failover", "set", "--help");
    expect(result.code).toBe(0);
    const fields = Object.keys(failoverSettingsInput.shape);
    expect(fields.filter((field) => !new RegExp(`\\b${field}\\b`).test(result.stdout))).toEqual([]);
  });

  it("--help exits 0 and lists the exit codes", async () => {
    const result = await cli("--help");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Exit codes: 0 done; 1 the server refused");
  });
});
