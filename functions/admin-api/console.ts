import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { notFound } from "../../shared/errors.ts";
import type { HttpResult } from "../http.ts";

/** The console's files by name: `index.html`, `console.js`, `console.css` (./console-build.ts). */
export type ConsoleFiles = Readonly<Record<string, string>>;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/**
 * In the Lambda bundle the console was built next to the handler (infra/cloud's bundling hook
 * runs ./console-build.ts into `console/`); from the source tree (local mode) the same build runs in
 * memory once. Either way the files come from the one build function.
 */
async function load(): Promise<ConsoleFiles> {
  const bundled = join(import.meta.dirname, "console");
  if (existsSync(join(bundled, "index.html"))) {
    return Object.fromEntries(
      readdirSync(bundled).map((file) => [file, readFileSync(join(bundled, file), "utf8")]),
    );
  }
  // A computed specifier: the Lambda bundle must not pull esbuild in (it has its build above).
  const builder = new URL("./console-build.ts", import.meta.url).href;
  const { buildConsole } = (await import(builder)) as {
    buildConsole: () => Promise<ConsoleFiles>;
  };
  return buildConsole();
}

let files: Promise<ConsoleFiles> | undefined;

/** One file of the console as an answer, or a 404. */
export async function consoleAsset(name: string): Promise<HttpResult> {
  files ??= load().catch((error: unknown) => {
    files = undefined;
    throw error;
  });
  const body = (await files)[name];
  const contentType = CONTENT_TYPES[extname(name)];
  if (body === undefined || contentType === undefined) throw notFound(`console file ${name}`);
  return {
    statusCode: 200,
    headers: { "content-type": contentType, "cache-control": "no-cache" },
    body,
  };
}
