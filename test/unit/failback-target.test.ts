import { describe, expect, it } from "vitest";
import { AppError } from "../../shared/errors.ts";
import { failbackTasks, requestFailback } from "../../shared/sync/failback.ts";
import { saveFailoverSettings } from "../../shared/sync/operations.ts";
import { memoryProduction } from "../support/memory-production.ts";

const FIRST = { host: "failover-a.example.com", password: "Passw0rd-A" };
const SECOND = { host: "failover-b.example.com", password: "Passw0rd-B" };
const PRODUCTION = {
  host: "production.example.com",
  username: "admin",
  password: "Production-Passw0rd",
};

/** Production with a failback under way towards the first failover, its first step done. */
async function failingBack() {
  const server = memoryProduction();
  await saveFailoverSettings(server.deps, {
    enabled: true,
    autoSync: true,
    username: "admin",
    ...FIRST,
  });
  const { failbackId } = await requestFailback(server.deps, { production: PRODUCTION });
  const tasks = failbackTasks(server.deps);
  await tasks.step({ failbackId, step: "disableProduction" });
  // Meanwhile an operator points production at another failover, with that one's password.
  await saveFailoverSettings(server.deps, { enabled: false, username: "admin", ...SECOND });
  server.clients.length = 0;
  return { server, tasks, failbackId };
}

/** The failover's password only ever goes to the host it was given for (R25). */
const sentAstray = (clients: { host: string | undefined; password: string }[]) =>
  clients.filter(({ host, password }) => host === FIRST.host && password !== FIRST.password);

describe("a failback whose failover target changed (R19, R25)", () => {
  it("does not send the new failover's password to the failover the run began with", async () => {
    const { server, tasks, failbackId } = await failingBack();

    const step = await tasks.step({ failbackId, step: "pointFailoverAtProduction" }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(sentAstray(server.clients)).toEqual([]);
    expect(step).toBeInstanceOf(Error);
    expect((step as Error).message).toContain(FIRST.host);
    expect((step as Error).message).toContain("password");
    expect((step as Error).message).not.toContain(SECOND.password);
  });

  it("asks for the first failover's password again before it resumes", async () => {
    const { server, tasks, failbackId } = await failingBack();
    await tasks.fail({ failbackId, error: { Error: "Error", Cause: "the failover was down" } });

    const refused = await requestFailback(server.deps, { resume: failbackId }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ status: 409 });
    expect((refused as AppError).message).toMatch(/failover-a\.example\.com.*password/);
    // Pointed at the first failover again, with its password, the run resumes and reaches it.
    await saveFailoverSettings(server.deps, { enabled: false, username: "admin", ...FIRST });
    await requestFailback(server.deps, { resume: failbackId });
    await tasks.step({ failbackId, step: "pointFailoverAtProduction" }).catch(() => undefined);
    expect(server.clients.map(({ host }) => host)).toContain(FIRST.host);
    expect(sentAstray(server.clients)).toEqual([]);
  });
});
