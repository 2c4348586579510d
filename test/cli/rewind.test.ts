import { beforeAll, describe, expect, it } from "vitest";
import { failoverClient, unique } from "../support/api.ts";
import { waitFor } from "../support/wait.ts";
import { cli, errorObject } from "./run.ts";

// `history`, `snapshot` and `rewind` (R26, issue 27.2) as a user runs them, on the shared
// regions: a domain of its own; the server scope only as a dry run (other tests share it).
const domain = unique("rw");
let moment: string;
let afterCreate: string;

const ok = async (...args: string[]) => {
  const result = await cli(...args);
  expect(result, args.join(" ")).toMatchObject({ code: 0 });
  return result;
};

beforeAll(async () => {
  await ok("domains", "put", domain, "description=payroll");
  await ok("groups", "put", domain, "staff");
  await ok(
    "users",
    ...["put", domain, "dora", "password=dora-Passw0rd!", "homeDirectory=/data/dora"],
    "email=dora@example.com",
  );
  afterCreate = new Date().toISOString();
  await ok("failover", "wait", "--timeout", "30s");
  moment = new Date().toISOString();
  // The mistakes: an address overwritten, a group deleted, a service added.
  await ok("users", "put", domain, "dora", "homeDirectory=/data/dora", "email=wrong@example.com");
  await ok("groups", "delete", domain, "staff");
  await ok("services", "put", domain, "ftp", "protocol=FTP", "ip=10.0.0.9", "port=21");
}, 60_000);

describe("history: what changed, newest first", { timeout: 30_000 }, () => {
  it("a table of time, item, op, fields and origin, newest first", async () => {
    const { stdout } = await waitFor(async () => {
      const result = await ok("history", "--domain", domain);
      return result.stdout.split("\n").length >= 7 ? result : undefined;
    });
    const [header, ...rows] = stdout.trim().split("\n");
    expect(header).toMatch(/^TIME\s+ITEM\s+OP\s+FIELDS\s+ORIGIN$/);
    const cells = rows.map((row) => row.split(/\s{2,}/));
    expect(cells.map(([, id, op]) => `${op} ${id}`)).toEqual([
      "put service:ftp",
      "delete group:staff",
      "put user:dora",
      "put user:dora",
      "put group:staff",
      "put domain",
    ]);
    expect(cells[0]?.[3]).toBe("ip, port, protocol");
    expect(cells[1]?.[3]).toBe("–");
    expect(cells[2]?.[3]).toBe("email");
    const times = cells.map(([at]) => Date.parse(at ?? ""));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it("--until and --limit bound it; --json gives the cursor of what is left", async () => {
    const until = await ok("history", "--domain", domain, "--until", afterCreate);
    expect(until.stdout).not.toMatch(/service:ftp|delete/);
    expect(until.stdout).toMatch(/user:dora/);

    const two = await ok("history", "--domain", domain, "--limit", "2");
    expect(two.stdout.trim().split("\n")).toHaveLength(4); // header, two rows, "… older"
    expect(two.stdout).toMatch(/^… older changes too/m);

    const json = JSON.parse(
      (await ok("--json", "history", "--domain", domain, "--limit", "2")).stdout,
    );
    expect(json.items).toHaveLength(2);
    expect(json.cursor).toEqual(expect.any(String));

    const recent = await ok("history", "--domain", domain, "--since", "1d");
    expect(recent.stdout).toMatch(/^\S+\s+domain\s+put/m);
  });
});

describe("snapshot: the state at a moment", { timeout: 30_000 }, () => {
  it("lists the domain's items as they were, secrets never", async () => {
    const { stdout } = await ok("snapshot", "--domain", domain, "--at", moment);

    expect(stdout).toMatch(new RegExp(`^${domain} at ${moment.slice(0, 19)}`));
    expect(stdout).toMatch(/^ {2}dora .*email=dora@example\.com.*passwordSet=true/m);
    expect(stdout).toMatch(/^groups {4}\(1\)\n {2}staff/m);
    expect(stdout).toMatch(/^services {2}\(0\)$/m);
    expect(stdout).not.toMatch(/passwordHash|Passw0rd/);
  });
});

describe("rewind: a dry run, then --apply", { timeout: 60_000 }, () => {
  it("a dry run lists what would change and writes nothing", async () => {
    const { stdout } = await ok("rewind", "--domain", domain, "--at", moment);

    expect(stdout).toMatch(/^dry run: rewinding rw-\S+ to .* would$/m);
    expect(stdout).toMatch(/^ {2}add\s+group:staff$/m);
    expect(stdout).toMatch(/^ {2}remove\s+service:ftp$/m);
    expect(stdout).toMatch(/^ {2}change\s+user:dora\s+email$/m);
    expect(stdout).toMatch(/^nothing written: add --apply to rewind$/m);
    expect((await ok("users", "get", domain, "dora")).stdout).toMatch(/wrong@example\.com/);
  });

  it("--apply writes it; sync carries it to the failover; again, nothing is left to change", async () => {
    const { stdout } = await ok("rewind", "--domain", domain, "--at", moment, "--apply");

    expect(stdout).toMatch(/^rewound rw-\S+ to .*: 3 item\(s\) written$/m);
    expect((await ok("users", "get", domain, "dora")).stdout).toMatch(/dora@example\.com/);
    expect((await ok("groups", "list", domain)).stdout).toMatch(/^staff/m);
    const failover = failoverClient();
    await waitFor(async () => {
      const user = await failover.request<{ email?: string }>(
        "GET",
        `/api/domains/${domain}/users/dora`,
      );
      return user.email === "dora@example.com";
    });
    const again = await ok("rewind", "--domain", domain, "--at", moment);
    expect(again.stdout).toMatch(/is as it was at .*: nothing to change$/m);
  });

  it("the server scope: a dry run with --settings", async () => {
    const { stdout } = await ok("--json", "rewind", "--settings", "--at", "1s");
    expect(JSON.parse(stdout)).toMatchObject({ dryRun: true, added: expect.any(Array) });
    const snapshot = await ok("snapshot", "--settings", "--at", "1s");
    expect(snapshot.stdout).toMatch(/^the server settings at .*\nweb {7}.*\ntriggers {2}\(\d+\)/m);
  });
});

describe("bad input: a clear error, nothing written", { timeout: 30_000 }, () => {
  it("a moment in the future is the server's 400 naming `at` (exit 1)", async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const text = await cli("rewind", "--domain", domain, "--at", future, "--apply");
    const json = await cli("--json", "snapshot", "--domain", domain, "--at", future);

    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^error: 400 invalid_request: at: .* is in the future$/m);
    expect(json.code).toBe(1);
    expect(errorObject(json)).toMatchObject({
      code: "invalid_request",
      message: expect.stringMatching(/^at: /),
    });
  });

  it("a moment before the retention period is a 400 naming `at`; an unknown domain a 404", async () => {
    const old = await cli("rewind", "--domain", domain, "--at", "8d");
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/400 invalid_request: at: .* before the history's retention period/);

    const unknown = await cli("snapshot", "--domain", unique("never"), "--at", "1m");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: 404 not_found: domain never-\S+ not found$/m);
  });

  it("a wrong command line exits 2 before anything is sent", async () => {
    const word = await cli("rewind", "--domain", domain, "--at", "yesterday");
    expect(word.code).toBe(2);
    expect(word.stderr).toMatch(/--at is an ISO time .* or a time ago .*, not yesterday/);

    const noScope = await cli("rewind", "--at", "1m");
    expect(noScope.code).toBe(2);
    expect(noScope.stderr).toMatch(/give --domain <domain>, or --settings/);

    const both = await cli("snapshot", "--domain", domain, "--settings", "--at", "1m");
    expect(both.code).toBe(2);
    const limit = await cli("history", "--limit", "0");
    expect(limit.code).toBe(2);
    expect(limit.stderr).toMatch(/--limit is a number from 1 to 100000, not 0/);
  });
});
