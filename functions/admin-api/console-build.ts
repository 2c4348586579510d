import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

/** The console's sources: the page, its style sheet, its TypeScript (console/src). */
const CONSOLE = join(import.meta.dirname, "..", "..", "console");

/**
 * The console as the admin API serves it: the page, its style sheet, and its TypeScript bundled
 * by esbuild into one ES module. Called in memory by local mode and, via the command line
 * (`tsx functions/admin-api/console-build.ts <dir>`), by the Lambda's bundling, so both serve the same files.
 */
export async function buildConsole(): Promise<Record<string, string>> {
  const bundle = await build({
    entryPoints: [join(CONSOLE, "src", "main.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify: true,
    write: false,
    outfile: "console.js",
    logLevel: "silent",
  });
  const [script] = bundle.outputFiles;
  if (!script) throw new Error("console-build: esbuild produced no output");
  return {
    "index.html": readFileSync(join(CONSOLE, "index.html"), "utf8"),
    "console.css": readFileSync(join(CONSOLE, "console.css"), "utf8"),
    "console.js": script.text,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = process.argv[2];
  if (!out) throw new Error("usage: tsx functions/admin-api/console-build.ts <output directory>");
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(await buildConsole())) {
    writeFileSync(join(out, name), text);
  }
}
