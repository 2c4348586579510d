import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import { freePort } from "../../infra/local/ports.ts";
import { type LocalRuntime, startLocal } from "../../infra/local/runtime.ts";
import { apiError, unique } from "../support/api.ts";
import { waitFor } from "../support/wait.ts";

// R18 with both regions syncing automatically. A server that syncs out takes no sync, so the
// failover receives production's changes first (automatic sync off there), then is set to sync
// automatically itself — towards production through a recording proxy — and the runtime
// restarts: the failover's stream is read again from its start (as after any restart of local
// mode), now with automatic sync on. What production's sync applied there carries production's
// origin, and the failover's capture (shared/sync/capture.ts) must never send it back; the
// failover's own change does go out (the proxy sees it), which shows its pipeline ran.
// Changes both regions' failover settings and restarts: its own runtime.

let runtime: LocalRuntime;
let production: AdminClient;
let standby: AdminClient;
let proxy: Server;
let dataDir: string;
let ports: { productionPort: number; failoverPort: number };
/** The bodies of every sync request the failover sent towards production. */
const sent: string[] = [];

const start = async () => {
  runtime = await startLocal({
    ...ports,
    seed: false,
    dataDir,
    adminPassword: "Contract-Passw0rd!",
  });
  production = new AdminClient(runtime.production.url, runtime.admin);
  standby = new AdminClient(runtime.failover.url, runtime.admin);
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "mft-one-direction-"));
  ports = { productionPort: await freePort(), failoverPort: await freePort() };
  await start();
  proxy = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (request.url?.startsWith("/api/sync/events")) sent.push(body.toString("utf8"));
    const upstream = await fetch(new URL(request.url ?? "/", runtime.production.url), {
      method: request.method ?? "GET",
      headers: Object.fromEntries(
        Object.entries(request.headers).filter(
          (entry): entry is [string, string] => typeof entry[1] === "string" && entry[0] !== "host",
        ),
      ),
      ...(request.method === "GET" ? {} : { body }),
    });
    response.writeHead(upstream.status, { "content-type": "application/json" });
    response.end(await upstream.text());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
}, 120_000);

afterAll(async () => {
  proxy?.close();
  await runtime?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("one direction (R18) with both regions syncing automatically", () => {
  it("the failover never sends back what production's sync applied, even replaying it with automatic sync on", async () => {
    const domain = unique("from-production");
    await production.request("PUT", `/api/domains/${domain}`, { description: "production's" });
    await production.request("PUT", `/api/domains/${domain}/users/alice`, {
      password: "alice-Passw0rd!",
      homeDirectory: "/data/alice",
    });
    await waitFor(
      () => standby.request("GET", `/api/domains/${domain}/users/alice`).catch(() => undefined),
      15_000,
      "production's user on the failover",
    );
    // Through the service, not the API: the API's loop check (R18) would refuse this on purpose.
    const { port } = proxy.address() as AddressInfo;
    await runtime.failover.services.failoverSettings.put({
      enabled: true,
      host: "127.0.0.1",
      port,
      useTls: false,
      username: runtime.admin.username,
      password: runtime.admin.password,
      autoSync: true,
    });
    await runtime.stop();
    await start();

    // A change of the failover's own in the same domain: the same FIFO group, after production's
    // items in the stream, so anything captured of them would be sent before it or with it.
    await standby.request("PUT", `/api/domains/${domain}/users/bob`, {
      password: "bob-Passw0rd!-123",
      homeDirectory: "/data/bob",
    });
    await waitFor(
      () => sent.some((body) => body.includes('"bob"')),
      20_000,
      "the failover's own change sent out",
    );

    // Each change is a queued item: `{item: ConfigItem}`.
    const items = sent.flatMap((body) =>
      (JSON.parse(body) as { changes: { item: { kind: string; id: string } }[] }).changes.map(
        ({ item }) => `${item.kind}:${item.id}`,
      ),
    );
    expect(items).toContain("user:bob");
    expect(items).not.toContain("user:alice");
    expect(items).not.toContain(`domain:${domain}`);
  }, 90_000);

  it("refuses to enable automatic sync to a peer that automatically syncs itself", async () => {
    const url = new URL(production.baseUrl);
    const before = await standby.request("GET", "/api/failover");
    const error = await apiError(
      standby.request("PUT", "/api/failover", {
        enabled: true,
        host: url.hostname,
        port: Number(url.port),
        useTls: false,
        username: runtime.admin.username,
        password: runtime.admin.password,
        autoSync: true,
      }),
    );
    expect(error.status).toBe(409);
    expect(error.message).toContain("loop");
    expect(await standby.request("GET", "/api/failover")).toEqual(before);
  });
});
