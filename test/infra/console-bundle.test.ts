import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { MftFunction } from "../../infra/cloud/constructs/mft-function.ts";
import { topology } from "../../infra/topology.ts";

const outdir = mkdtempSync(join(tmpdir(), "mft-console-bundle-"));

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("the admin API's Lambda bundle (R23: the console served by the admin endpoint)", () => {
  it("carries the built console next to the handler, as local mode serves it", async () => {
    // Real bundling (esbuild, no Docker), unlike the stack tests: only this one function.
    const app = new App({ outdir });
    const stack = new Stack(app, "Bundle", {
      env: { region: "us-east-1", account: "123456789012" },
    });
    new MftFunction(stack, "AdminApi", topology.adminApi);
    app.synth();
    const assets = readdirSync(outdir).filter((name) => name.startsWith("asset."));
    const bundle = assets
      .map((name) => join(outdir, name))
      .find((dir) => existsSync(join(dir, "index.mjs")));
    expect(bundle, `assets: ${assets.join(", ")}`).toBeDefined();
    const dir = join(bundle as string, "console");
    expect(readdirSync(dir).sort()).toEqual(["console.css", "console.js", "index.html"]);
    const { buildConsole } = await import("../../functions/admin-api/console-build.ts");
    const built = await buildConsole();
    for (const [name, text] of Object.entries(built)) {
      expect(readFileSync(join(dir, name), "utf8"), name).toBe(text);
    }
    // The handler reads them there, and does not carry esbuild.
    expect(readFileSync(join(bundle as string, "index.mjs"), "utf8")).not.toContain("esbuild");
  }, 120_000);
});
