import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AdminApiDeps,
  adminApiHandlers,
  createAdminApi,
} from "../../functions/admin-api/app.ts";
import type { HttpEvent } from "../../functions/http.ts";
import { lambdaContext } from "../../infra/local/lambda-context.ts";
import { HttpPeerClient } from "../../shared/adapters/http-peer-client.ts";
import { fixedAdmin } from "../../shared/auth/admin.ts";
import { FailoverSettingsService } from "../../shared/config/failover-settings.ts";
import type { BulkStore } from "../../shared/ports.ts";
import { MemorySecrets } from "../support/memory-secrets.ts";
import { MemoryStore } from "../support/memory-store.ts";

/** A failover that accepts connections and never answers. */
const hung = createServer(() => {});
let port = 0;

beforeAll(async () => {
  await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
  port = (hung.address() as AddressInfo).port;
});
afterAll(async () => {
  hung.closeAllConnections();
  await new Promise((resolve) => hung.close(resolve));
});

const admin = { username: "admin", password: "Admin-Passw0rd" };

/** The event API Gateway hands over `waitedMs` after it received the request (a cold start). */
const event = (method: string, path: string, waitedMs: number) =>
  ({
    rawPath: path,
    headers: {
      authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString("base64")}`,
    },
    requestContext: { http: { method, path }, timeEpoch: Date.now() - waitedMs },
  }) as unknown as HttpEvent;

const request = (path: string, waitedMs: number) => ({
  event: event("POST", path, waitedMs),
  // The admin API's function timeout (infra/topology.ts), counted from its own start.
  context: lambdaContext("admin-api", 29_000),
  params: {},
  query: {},
});

/** Failover settings pointing at the hung failover, with a timeoutMs past the gateway's limit. */
async function settings() {
  const failoverSettings = new FailoverSettingsService(new MemoryStore(), new MemorySecrets());
  await failoverSettings.put({
    enabled: true,
    host: "127.0.0.1",
    port,
    useTls: false,
    username: "admin",
    password: "Passw0rd-1",
    timeoutMs: 60_000,
  });
  return failoverSettings;
}

const peerFor: AdminApiDeps["peerFor"] = (settings, credentials, deadline) =>
  new HttpPeerClient(settings, credentials, deadline);

describe("what an admin API call waits on the failover (R6, API Gateway's 29 s)", () => {
  it("test connection answers within the gateway's limit, counted from when the gateway got the request, naming the step", async () => {
    const deps: Pick<AdminApiDeps, "failoverSettings" | "peerFor"> = {
      failoverSettings: await settings(),
      peerFor,
    };
    const handlers = adminApiHandlers(deps as AdminApiDeps);
    const started = Date.now();

    // The gateway got the request 25 s ago: some 4 s are left of its 29 s.
    const result = await handlers["POST /api/failover/test"](request("/api/failover/test", 25_000));

    expect(Date.now() - started).toBeLessThan(4_000);
    expect(result.statusCode).toBe(200);
    const answer = JSON.parse(result.body as string) as Record<string, unknown>;
    expect(answer).toMatchObject({ ok: false, failed: "timeout" });
    expect(answer.message).toContain("GET /api/sync/hello");
    expect(answer.message).not.toContain("Passw0rd-1");
  }, 10_000);

  it("a verify the failover does not answer ends in time as a 504 naming the call that did not finish", async () => {
    const bulk: Pick<BulkStore, "scan"> = { scan: async () => ({ items: [] }) };
    const deps: Partial<AdminApiDeps> = {
      failoverSettings: await settings(),
      peerFor,
      bulk: bulk as BulkStore,
      admin: fixedAdmin(admin),
      logger: new Logger({ logLevel: "SILENT" }),
    };
    const api = createAdminApi(deps as AdminApiDeps);
    const started = Date.now();

    const result = await api(
      event("GET", "/api/failover/drift", 25_000),
      lambdaContext("admin-api", 29_000),
    );

    expect(Date.now() - started).toBeLessThan(4_000);
    expect(result.statusCode).toBe(504);
    const { error } = JSON.parse(result.body as string) as { error: Record<string, string> };
    expect(error).toMatchObject({ code: "failover_timeout" });
    expect(error.message).toContain("POST /api/sync/digests");
    expect(error.message).not.toContain("Passw0rd-1");
  }, 10_000);
});
