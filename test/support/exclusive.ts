import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { waitFor } from "./wait.ts";

/**
 * Runs `body` while no other test file holds `name`. For tests that change a setting the shared
 * runtime has once (its web settings) and then compare it: test files run in parallel, so these
 * take turns. The lock is a directory (mkdir is atomic) named after this run's runtime.
 */
export async function exclusively<T>(name: string, body: () => Promise<T>): Promise<T> {
  const run = new URL(inject("productionUrl")).port;
  const lock = join(tmpdir(), `mft-failover-test-${run}-${name}.lock`);
  await waitFor(
    () =>
      mkdir(lock).then(
        () => true,
        () => false,
      ),
    60_000,
    `the ${name} lock`,
  );
  try {
    return await body();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
