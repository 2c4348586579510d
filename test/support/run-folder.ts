import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A folder for what the test files of one run share (the synthesized templates). */
    runFolder: string;
  }
}

const key = Symbol.for("mft-failover.runFolder");

/**
 * Global setup of every project: one folder for the whole run. Each project runs its global
 * setup in this same process, so the folder is kept on `globalThis` and made once.
 */
export default async function setup(project: TestProject) {
  const shared = globalThis as { [key]?: Promise<string> };
  shared[key] ??= mkdtemp(join(tmpdir(), "mft-failover-run-"));
  const folder = await shared[key];
  project.provide("runFolder", folder);
  return () => rm(folder, { recursive: true, force: true });
}
