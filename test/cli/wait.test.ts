import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { waitFor } from "../support/wait.ts";
import { cliOf, errorObject, ownRegions, type Target } from "./run.ts";

// `failover wait` (issue 28.1). Regions of its own: it takes the failover offline and makes drift.
let runtime: LocalRuntime;
let production: Target;
let failover: Target;
const cli = (...args: string[]) => cliOf(production, ...args);

beforeAll(async () => {
  ({ runtime, production, failover } = await ownRegions());
  expect((await cli("domains", "put", "acme")).code).toBe(0);
}, 120_000); // Its own runtime: slow to start on a busy machine.
afterAll(() => runtime?.stop());

describe("failover wait: until the failover holds what production holds now", () => {
  it("returns once a change made just before it is on the failover, so the next read finds it", async () => {
    const put = await cli(
      "users",
      "put",
      "acme",
      "dave",
      "password=dave-secret-1",
      "homeDirectory=/data/acme/dave",
    );
    const wait = await cli("failover", "wait");
    const read = await cliOf(failover, "users", "get", "acme", "dave");

    expect(put.code).toBe(0);
    expect(wait).toMatchObject({ code: 0, stderr: "" });
    expect(wait.stdout).toMatch(/^in step: the failover holds what production held at /);
    expect(read.code).toBe(0);
  });

  it("exits 5 when the changes do not arrive within --timeout, saying why", async () => {
    expect((await cli("region", "failover", "offline")).code).toBe(0);
    onTestFinished(async () => {
      await cli("region", "failover", "online");
    });
    expect(
      (
        await cli(
          "users",
          "put",
          "acme",
          "erin",
          "password=erin-secret-1",
          "homeDirectory=/data/acme/erin",
        )
      ).code,
    ).toBe(0);

    const started = Date.now();
    const wait = await cli("failover", "wait", "--timeout", "1s");
    const json = await cli("--json", "failover", "wait", "--timeout", "500ms");

    expect(wait.code).toBe(5);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(wait.stderr).toMatch(
      /^error: timed out after 1 s: the failover does not answer \(.*\); wait longer with --timeout$/m,
    );
    expect(json.code).toBe(5);
    expect(errorObject(json)).toMatchObject({ code: "timeout" });

    // The failed forward marked the failover unreachable: status says so with exit 6.
    const status = await waitFor(async () => {
      const answer = await cli("failover", "status");
      return answer.code === 6 ? answer : undefined;
    }, 20_000);
    expect(status.stdout).toMatch(/^connection +unreachable/m);
    expect(status.stderr).toMatch(/^error: not in step: .*the failover is unreachable/);

    expect((await cli("region", "failover", "online")).code).toBe(0);
    const healed = await cli("failover", "wait", "--timeout", "60s");
    expect(healed.code).toBe(0);
    expect((await cliOf(failover, "users", "get", "acme", "erin")).code).toBe(0);
  });

  it("exits 4 at once when the failover differs in a way automatic sync will not fix", async () => {
    expect((await cliOf(failover, "domains", "put", "only-there")).code).toBe(0);
    onTestFinished(async () => {
      await cliOf(failover, "domains", "delete", "only-there");
    });

    const wait = await cli("failover", "wait", "--timeout", "30s");

    expect(wait.code).toBe(4);
    expect(wait.stderr).toContain("1 difference automatic sync will not carry");
    expect(wait.stderr).toContain("failover repair");
  });

  it("on the failover, status says it is one: whom it receives from, the last change applied", async () => {
    const { code, stdout } = await cliOf(failover, "failover", "status");

    expect(code).toBe(0);
    expect(stdout).toMatch(/^state +failover of local-primary: it applies the changes/m);
    expect(stdout).toMatch(/^last change +\d+ changes? from local-primary applied /m);
    expect(stdout).toMatch(/^takeover +none: a standby/m);
    expect(stdout).not.toContain("failover set enabled=true");
  });

  it("refuses a --timeout it cannot read: exit 2", async () => {
    const wait = await cli("failover", "wait", "--timeout", "soon");

    expect(wait.code).toBe(2);
    expect(wait.stderr).toContain("--timeout");
  });
});
