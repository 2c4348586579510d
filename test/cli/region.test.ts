import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { cliOf, ownRegions, type Target } from "./run.ts";

// `region`: each action sent to a region that does not answer goes through the other one, as
// `region --help` says. Regions of their own: it takes them out.
let runtime: LocalRuntime;
let production: Target;
let failover: Target;

beforeAll(async () => {
  ({ runtime, production, failover } = await ownRegions());
}, 120_000);
afterAll(() => runtime?.stop());

const states = () =>
  Object.fromEntries(runtime.regions().map((region) => [region.name, region.state]));

describe("region: any action works from the URL of the region it concerns", () => {
  for (const [leave, back, state] of [
    ["offline", "online", "offline"],
    ["down", "up", "down"],
  ] as const) {
    it(`production ${leave}, then ${back}, both sent to production's own URL`, async () => {
      const out = await cliOf(production, "region", "production", leave);
      expect(out.code).toBe(0);
      expect(states()).toEqual({ production: state, failover: "up" });

      const again = await cliOf(production, "region", "production", back);

      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(new RegExp(`^production is ${back === "up" ? "up" : "online"}`));
      expect(again.stderr).toContain(`(${production.url} does not answer: asked ${failover.url})`);
      expect(states()).toEqual({ production: "up", failover: "up" });
    });
  }

  it("the failover offline and online through its own URL", async () => {
    expect((await cliOf(failover, "region", "failover", "offline")).code).toBe(0);
    expect(states()).toEqual({ production: "up", failover: "offline" });

    const again = await cliOf(failover, "region", "failover", "online");

    expect(again.code).toBe(0);
    expect(states()).toEqual({ production: "up", failover: "up" });
  });

  it("takes production by its old name `primary` too (issue 26.7)", async () => {
    const out = await cliOf(failover, "region", "primary", "offline");
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^production is offline/);
    expect(states()).toEqual({ production: "offline", failover: "up" });

    const again = await cliOf(failover, "region", "primary", "online");

    expect(again.code).toBe(0);
    expect(states()).toEqual({ production: "up", failover: "up" });
  });

  it("says so when neither region answers (exit 3)", async () => {
    const nowhere = { ...production, env: { MFT_PRIMARY_PORT: "1", MFT_FAILOVER_PORT: "2" } };
    const { code, stderr } = await cliOf(
      { ...nowhere, url: "http://127.0.0.1:1" },
      "region",
      "production",
      "online",
    );

    expect(code).toBe(3);
    expect(stderr).toMatch(/cannot reach/);
  });
});
