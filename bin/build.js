// Bundles the CLI (bin/cli.ts and what it imports) into bin/dist, so a call starts in plain
// Node without compiling TypeScript: `npm ci` runs this (the "prepare" script). bin/mft-failover.js
// uses the bundle while it is newer than every source it was built from.
import { rm, writeFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = resolve(root, "bin/dist");

/**
 * Local mode's runtime stays TypeScript, loaded by tsx when `local` runs: it reads files beside
 * its source (DynamoDB Local's launcher) and only `local` needs it.
 */
const localRuntimeAsSource = {
  name: "local-runtime-as-source",
  setup(context) {
    context.onResolve({ filter: /infra\/local\// }, (args) => ({
      path: relative(outdir, resolve(args.resolveDir, args.path)),
      external: true,
    }));
  },
};

let build;
try {
  ({ build } = await import("esbuild"));
} catch {
  // An install without devDependencies: the CLI runs from its TypeScript source instead.
  console.warn("esbuild is not installed: the CLI will run from its TypeScript source (slower)");
  process.exit(0);
}
await rm(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ["bin/cli.ts"],
  outdir,
  bundle: true,
  // A lazily imported command (openapi) is a chunk of its own, loaded only when it runs.
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  metafile: true,
  logLevel: "warning",
  plugins: [localRuntimeAsSource],
});
// Written last: its time is the build's, and without it the bundle is not used.
await writeFile(
  resolve(outdir, "inputs.json"),
  `${JSON.stringify(Object.keys(result.metafile.inputs), null, 1)}\n`,
);
