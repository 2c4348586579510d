#!/usr/bin/env node
// Runs bin/dist/cli.js, the bundle that `npm ci` builds (bin/build.js), while it is newer than
// every source it was built from: it starts in plain Node. Otherwise (no bundle, or a source
// changed since) the TypeScript source, through tsx's loader: slower to start, never stale.
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";

// The functions run on nodejs24.x, and so does everything here: `npm ci` brings Node 24 (the
// `node` package) and npm scripts and npx put it first on the PATH. Said in one line, not a stack.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(
    `mft-failover needs Node.js 24 or newer (this is ${process.version}): run it through npm ` +
      "(npm start, npx mft-failover), which uses the Node 24 that npm ci installed, or install Node 24",
  );
  process.exit(1);
}

async function bundleIsFresh() {
  try {
    const inputs = new URL("./dist/inputs.json", import.meta.url);
    const built = statSync(inputs).mtimeMs;
    const root = new URL("../", import.meta.url);
    const sources = JSON.parse(await readFile(inputs, "utf8"));
    return sources.every((source) => statSync(new URL(source, root)).mtimeMs <= built);
  } catch {
    return false;
  }
}

const bundle = process.env.MFT_CLI_SOURCE !== "1" && (await bundleIsFresh());
// MFT_CLI_TRACE=1 says which one runs (the start-up test).
if (process.env.MFT_CLI_TRACE === "1")
  console.error(`mft-failover: ${bundle ? "bundle" : "source"}`);
if (bundle) {
  await import("./dist/cli.js");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./cli.ts");
}
