import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { waitFor } from "../support/wait.ts";
import { cliOf, errorObject, ownRegions, type Target } from "./run.ts";

// Triggers from the CLI as docs/triggers.md shows them. Regions of their own: an event's
// `Changed` depends on the events the server published before, which other tests would publish.
let runtime: LocalRuntime;
let production: Target;
const cli = (...args: string[]) => cliOf(production, ...args);

/** docs/triggers.md's `sync-broke`: the first failed sync after a success. */
const SYNC_BROKE = {
  event: "Failover Synchronization",
  description: "page someone when the failover stops following production",
  condition: {
    and: [
      { variable: "Success", op: "==", value: false },
      { variable: "Changed", op: "==", value: true },
    ],
  },
  actions: [
    {
      type: "email",
      to: ["ops@example.com"],
      subject: "Failover sync broke ({{Mode}}): {{Reason}}",
    },
  ],
};

beforeAll(async () => {
  ({ runtime, production } = await ownRegions());
  const put = await cli("triggers", "put", "sync-broke", "--data", JSON.stringify(SYNC_BROKE));
  expect(put.code).toBe(0);
  await waitFor(
    () =>
      runtime.production.triggers.rules().some((rule) => rule.name === "mft-trigger-sync-broke"),
    10_000,
    "sync-broke's rule",
  );
  // The trigger's own replication is an automatic batch: its event first, then the demo's.
  await waitFor(
    () =>
      runtime.production.bus
        .events()
        .some(({ detail }) => detail.Mode === "automatic" && detail.Success && detail.Items > 0),
    15_000,
    "the batch that replicated sync-broke",
  );
}, 120_000);
afterAll(() => runtime?.stop());

describe("publish-event: the event a sync would publish, and the triggers it matched", () => {
  it("the docs' demo fires sync-broke once: Changed as the pipeline computes it", async () => {
    const first = await cli("publish-event", "Success=false", "Reason=peer down");

    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^published .*Success=false.*Changed=true/m);
    expect(first.stdout).toMatch(/^triggers matched: sync-broke$/m);
    await waitFor(
      () => runtime.production.triggers.runs().some((run) => run.triggerId === "sync-broke"),
      10_000,
      "sync-broke's run",
    );
    expect(runtime.mail.messages().map((mail) => mail.subject)).toContain(
      "Failover sync broke (automatic): peer down",
    );

    // A second failure in a row is no change, as a second failed batch would be.
    const second = await cli("--json", "publish-event", "Success=false", "Reason=peer down");
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      detail: { Success: false, PreviousSuccess: false, Changed: false },
      matched: [],
    });
    const healed = await cli("publish-event", "Success=true");
    expect(healed.stdout).toMatch(/Changed=true/);
    expect(healed.stdout).toMatch(/^triggers matched: none$/m);
  });

  it("refuses the fields the server computes, naming them", async () => {
    const { code, stderr } = await cli("--json", "publish-event", "Success=false", "Changed=true");

    expect(code).toBe(1);
    expect(errorObject({ code, stdout: "", stderr }).message).toMatch(/Changed/);
  });
});

/** Off (no rule: it never fires here), with an HTTP action and a secret header. */
const PAGER = {
  event: "Failover Synchronization",
  enabled: false,
  condition: {
    or: [
      { variable: "Mode", op: "==", value: "takeover" },
      {
        and: [
          { variable: "Success", op: "==", value: false },
          { variable: "Items", op: ">", value: 10 },
        ],
      },
    ],
  },
  actions: [
    {
      type: "http",
      url: "https://hooks.example.com/incident?token=abc",
      headers: { Authorization: { secret: "Bearer s3cr3t" }, "X-Mode": "{{Mode}}" },
    },
  ],
};

describe("triggers list and get: readable without --json", () => {
  beforeAll(async () => {
    const put = await cli("triggers", "put", "pager", "--data", JSON.stringify(PAGER));
    expect(put.code).toBe(0);
  });

  it("list: a table, one row a trigger, its condition and actions in words", async () => {
    const { code, stdout } = await cli("triggers", "list");

    expect(code).toBe(0);
    const [header, ...rows] = stdout.trimEnd().split("\n");
    expect(header?.split(/ {2,}/)).toEqual([
      "ID",
      "ENABLED",
      "CONDITION",
      "ACTIONS",
      "DESCRIPTION",
    ]);
    expect(rows.map((row) => row.split(/ {2,}/))).toEqual([
      [
        "pager",
        "no",
        'Mode == "takeover" or (Success == false and Items > 10)',
        "POST hooks.example.com",
      ],
      [
        "sync-broke",
        "yes",
        "Success == false and Changed == true",
        "email ops@example.com",
        SYNC_BROKE.description,
      ],
    ]);
    // Columns line up under their titles.
    const column = header?.indexOf("CONDITION");
    expect(rows.every((row) => row.slice(column).startsWith(row.split(/ {2,}/)[2] ?? "?"))).toBe(
      true,
    );
  });

  it("get: every field a line, each action with its parts, a secret never shown", async () => {
    const { code, stdout, stderr } = await cli("triggers", "get", "pager");

    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(
      stdout
        .trimEnd()
        .split("\n")
        .map((line) => line.split(/ {2,}/)),
    ).toEqual([
      ["id", "pager"],
      ["description", "–"],
      ["event", "Failover Synchronization"],
      ["enabled", "no"],
      ["condition", 'Mode == "takeover" or (Success == false and Items > 10)'],
      [
        "action 1",
        "POST https://hooks.example.com/incident?token=abc (timeout 5000 ms, 2 retries)",
      ],
      ["", "header", "Authorization: (secret)"],
      ["", "header", "X-Mode: {{Mode}}"],
      ["", "body", "(all the variables as JSON)"],
      ["version", expect.stringMatching(/^\d+$/)],
      ["updated", expect.stringMatching(/^\d{4}-/)],
    ]);
    expect(stdout).not.toContain("s3cr3t");
  });

  it("--json keeps the API's answer", async () => {
    const list = await cli("--json", "triggers", "list");
    const one = await cli("--json", "triggers", "get", "sync-broke");

    expect(JSON.parse(list.stdout).items.map((item: { id: string }) => item.id)).toEqual([
      "pager",
      "sync-broke",
    ]);
    expect(JSON.parse(one.stdout)).toMatchObject({ id: "sync-broke", ...SYNC_BROKE });
  });
});
