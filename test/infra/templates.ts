import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { inject } from "vitest";
import { waitFor } from "../support/wait.ts";
import { testApp } from "./cloud-app.ts";

/**
 * Both stacks of the test app (`testApp({ checks: false })`), synthesized once per run and shared
 * by every file that reads them: the first file to ask synthesizes (seconds of CPU) and leaves
 * the templates in the run's folder; the others read them, waiting while one is at it.
 */
export async function synthesizedTemplates(): Promise<{
  production: Template;
  failover: Template;
}> {
  const folder = inject("runFolder");
  const file = join(folder, "templates.json");
  if (!existsSync(file)) {
    const lock = join(folder, "templates.lock");
    if (claim(lock)) {
      try {
        const { production, failover } = testApp({ checks: false });
        const json = { production: toJSON(production), failover: toJSON(failover) };
        writeFileSync(`${file}.partial`, JSON.stringify(json));
        renameSync(`${file}.partial`, file);
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    } else {
      await waitFor(() => existsSync(file) || !existsSync(lock), 180_000, "the templates");
      if (!existsSync(file)) return synthesizedTemplates(); // the other file's synth failed
    }
  }
  const json = JSON.parse(readFileSync(file, "utf8")) as Record<"production" | "failover", object>;
  return {
    production: Template.fromJSON(json.production),
    failover: Template.fromJSON(json.failover),
  };
}

const toJSON = (stack: Parameters<typeof Template.fromStack>[0]) =>
  Template.fromStack(stack).toJSON();

/** Takes the lock folder; false when another file holds it. */
function claim(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch {
    return false;
  }
}
