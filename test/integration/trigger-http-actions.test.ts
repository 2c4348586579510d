import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdminClient } from "../../bin/api-client.ts";
import { apiError, failoverClient, productionClient, unique } from "../support/api.ts";
import { waitFor } from "../support/wait.ts";

// R17, issue 13 item 4, through the local runtime: secret header values are write-only in the
// admin API yet sent (by production, and by the failover after sync); a JSON body escapes the
// event's values; every request carries an Idempotency-Key; a run records the host only.
// Local mode allows loopback, so the webhook on 127.0.0.1 is reachable.

const production = productionClient();
const standby = failoverClient();

interface Hit {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}
interface Run {
  triggerId: string;
  eventId: string;
  ok: boolean;
  actions: { type: string; target: string; ok: boolean; status?: number; error?: string }[];
}
type TriggerView = Record<string, unknown> & {
  actions: { headers?: Record<string, unknown> }[];
};

const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
});

async function webhook(): Promise<{ url: string; port: number; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer(async (request, response) => {
    let body = "";
    for await (const chunk of request) body += chunk;
    hits.push({
      method: request.method ?? "",
      path: request.url ?? "",
      headers: request.headers,
      body,
    });
    response.writeHead(204).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, hits };
}

const runsOf = async (client: AdminClient, triggerId: string) =>
  (await client.request<{ items: Run[] }>("GET", "/_local/trigger-runs")).items.filter(
    (run) => run.triggerId === triggerId,
  );

/** Waits until the region's trigger-rules (fed by its table's stream) has made the trigger's rule. */
const ruleOf = (client: AdminClient, triggerId: string) =>
  waitFor(
    async () =>
      (
        await client.request<{ items: { name: string }[] }>("GET", "/_local/trigger-rules")
      ).items.some((rule) => rule.name === `mft-trigger-${triggerId}`),
    10_000,
    `the rule of ${triggerId}`,
  );

describe("HTTP actions: secret headers, JSON bodies, Idempotency-Key, host-only records", () => {
  const marker = unique("http-actions");
  const id = unique("secret-headers");
  const path = `/api/triggers/${id}`;
  const reason = 'peer said "no" \\ then\nleft", "injected": true, "x": "';
  let hook: Awaited<ReturnType<typeof webhook>>;
  const trigger = (headers: Record<string, unknown>) => ({
    event: "Failover Synchronization",
    condition: { variable: "Primary", op: "==", value: marker },
    actions: [
      {
        type: "http",
        url: `${hook.url}/hooks/T0KEN-path?key=q5ecret`,
        headers,
        body: '{"text": "sync failed: {{Reason}}", "items": {{Items}}}',
        retries: 0,
      },
    ],
  });

  beforeAll(async () => {
    hook = await webhook();
  });

  it("shows a secret header as {secret: true} in PUT, GET and list answers, and keeps it on a PUT of what GET showed", async () => {
    const masked = { Authorization: { secret: true }, "X-Plain": "p" };
    const created = await production.request<TriggerView>(
      "PUT",
      path,
      trigger({ Authorization: { secret: "Bearer hunter2-abc" }, "X-Plain": "p" }),
    );
    expect(created.actions[0]?.headers).toEqual(masked);

    const shown = await production.request<TriggerView>("GET", path);
    expect(shown.actions[0]?.headers).toEqual(masked);
    const listed = await production.request<{ items: TriggerView[] }>(
      "GET",
      "/api/triggers?limit=1000",
    );
    expect(listed.items.find((item) => item.id === id)?.actions[0]?.headers).toEqual(masked);
    expect(JSON.stringify([created, shown, listed])).not.toContain("hunter2");

    // What GET showed goes back as it is: the stored value stays (sent below).
    const { id: _id, version: _version, updatedAt: _updatedAt, ...again } = shown;
    const updated = await production.request<TriggerView>("PUT", path, again);
    expect(updated.actions[0]?.headers).toEqual(masked);
  });

  it("answers 400 naming the header for {secret: true} with nothing stored, and saves nothing", async () => {
    const before = await production.request<TriggerView>("GET", path);
    const error = await apiError(
      production.request(
        "PUT",
        path,
        trigger({ Authorization: { secret: true }, "X-New": { secret: true } }),
      ),
    );
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^actions\[0\]\.headers\.X-New: has no stored secret/);
    expect((await production.request<TriggerView>("GET", path)).version).toBe(before.version);
  });

  it("sends the stored secret, an escaped JSON body and the Idempotency-Key, and records the host only", async () => {
    await ruleOf(production, id);
    const { id: eventId } = await production.request<{ id: string }>("POST", "/_local/events", {
      Success: false,
      Primary: marker,
      Reason: reason,
      Items: 2,
    });

    const [run] = await waitFor(async () => {
      const runs = await runsOf(production, id);
      return runs.length > 0 ? runs : undefined;
    }, 10_000);

    expect(hook.hits).toHaveLength(1);
    const [hit] = hook.hits;
    expect(hit?.path).toBe("/hooks/T0KEN-path?key=q5ecret");
    expect(hit?.headers).toMatchObject({
      authorization: "Bearer hunter2-abc",
      "x-plain": "p",
      "content-type": "application/json",
      "idempotency-key": `${eventId}-${id}`,
    });
    expect(JSON.parse(hit?.body ?? "")).toEqual({ text: `sync failed: ${reason}`, items: 2 });

    expect(run).toMatchObject({ eventId, ok: true });
    expect(run?.actions).toEqual([
      {
        index: 0,
        type: "http",
        target: `POST 127.0.0.1:${hook.port}`,
        ok: true,
        attempts: 1,
        status: 204,
      },
    ]);
    const everything = JSON.stringify(await runsOf(production, id));
    expect(everything).not.toMatch(/T0KEN|q5ecret|hunter2/);
  });

  it("reaches the failover with the real value (sync carries it), where the API masks it too and the trigger sends it", async () => {
    const onFailover = await waitFor(
      async () =>
        standby
          .request<TriggerView>("GET", path)
          .then((view) => (view.actions[0]?.headers?.["X-Plain"] === "p" ? view : undefined))
          .catch(() => undefined),
      10_000,
      `${path} on the failover`,
    );
    expect(onFailover.actions[0]?.headers?.Authorization).toEqual({ secret: true });

    await ruleOf(standby, id);
    const before = hook.hits.length;
    await standby.request("POST", "/_local/events", { Success: false, Primary: marker, Items: 1 });
    await waitFor(async () => (await runsOf(standby, id)).length > 0, 10_000);
    expect(hook.hits.length).toBe(before + 1);
    expect(hook.hits.at(-1)?.headers.authorization).toBe("Bearer hunter2-abc");
  });

  it("refuses link-local and private addresses in local mode too (only loopback is allowed by default)", async () => {
    const refusedMarker = unique("refused");
    const refusedId = unique("refused-hook");
    await production.request("PUT", `/api/triggers/${refusedId}`, {
      event: "Failover Synchronization",
      condition: { variable: "Primary", op: "==", value: refusedMarker },
      actions: [
        { type: "http", url: "http://169.254.169.254/latest/meta-data/?t=s3cret", retries: 2 },
        { type: "http", url: "http://10.255.255.1:8000/internal/T0KEN", retries: 2 },
      ],
    });
    await ruleOf(production, refusedId);
    await production.request("POST", "/_local/events", { Success: false, Primary: refusedMarker });

    const run = await waitFor(async () => (await runsOf(production, refusedId))[0], 10_000);
    expect(run.actions).toMatchObject([
      {
        ok: false,
        attempts: 1,
        target: "POST 169.254.169.254",
        error: expect.stringContaining("(linkLocal)"),
      },
      {
        ok: false,
        attempts: 1,
        target: "POST 10.255.255.1:8000",
        error: expect.stringContaining("(private)"),
      },
    ]);
    expect(JSON.stringify(run)).not.toMatch(/meta-data|s3cret|T0KEN|internal/);
  });
});
