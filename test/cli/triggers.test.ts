import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalRuntime, startLocal } from "../../infra/local/runtime.ts";
import { waitFor } from "../support/wait.ts";
import { cliOf, errorObject, type Target } from "./run.ts";

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
  runtime = await startLocal({ primaryPort: 0, failoverPort: 0, seed: false });
  production = { url: runtime.primary.url, password: runtime.admin.password };
  const put = await cli("triggers", "put", "sync-broke", "--data", JSON.stringify(SYNC_BROKE));
  expect(put.code).toBe(0);
  await waitFor(
    () => runtime.primary.triggers.rules().some((rule) => rule.name === "mft-trigger-sync-broke"),
    10_000,
    "sync-broke's rule",
  );
  // The trigger's own replication is an automatic batch: its event first, then the demo's.
  await waitFor(
    () =>
      runtime.primary.bus
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
      () => runtime.primary.triggers.runs().some((run) => run.triggerId === "sync-broke"),
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
