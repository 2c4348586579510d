import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../../infra/local/ports.ts";
import { productionClient, unique } from "../support/api.ts";
import { waitFor } from "../support/wait.ts";

// R17 through the local runtime: triggers on production's bus, email to the local SMTP server,
// HTTP requests to a webhook server started here. Each test's triggers match only events whose
// Primary is the test's own marker, so tests sharing the runtime never fire each other's.

const api = productionClient();

interface Mail {
  id: number;
  to: string[];
  subject: string;
}
interface Run {
  triggerId: string;
  eventId: string;
  ok: boolean;
  actions: { type: string; ok: boolean; attempts: number; status?: number; error?: string }[];
}
interface Hit {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A webhook receiver on 127.0.0.1 answering every request with `status`. */
async function webhook(status = 204): Promise<{ url: string; hits: Hit[]; server: Server }> {
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
    response.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits, server };
}

const mails = async (marker: string) =>
  (await api.request<{ items: Mail[] }>("GET", "/_local/mail")).items.filter((mail) =>
    mail.subject.includes(marker),
  );
const runs = async (triggerId: string) =>
  (await api.request<{ items: Run[] }>("GET", "/_local/trigger-runs")).items.filter(
    (run) => run.triggerId === triggerId,
  );
/** Waits until trigger-rules (fed by the table's stream) has made each trigger's rule. */
const rulesOf = (...triggerIds: string[]) =>
  waitFor(
    async () => {
      const { items } = await api.request<{ items: { name: string }[] }>(
        "GET",
        "/_local/trigger-rules",
      );
      const names = new Set(items.map((rule) => rule.name));
      return triggerIds.every((id) => names.has(`mft-trigger-${id}`));
    },
    10_000,
    `the rules of ${triggerIds.join(", ")}`,
  );
const publish = (detail: Record<string, unknown>) =>
  api.request<{ id: string }>("POST", "/_local/events", detail);

const onlyFor = (marker: string, condition: Record<string, unknown>) => ({
  and: [{ variable: "Primary", op: "==", value: marker }, condition],
});

describe("triggers on Failover Synchronization events (R16, R17)", () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const server of servers) server.close();
  });

  describe("a failed sync", () => {
    const marker = unique("failed-sync");
    const ids = {
      failure: unique("on-failure"),
      success: unique("on-success"),
      off: unique("off"),
    };
    let hook: Awaited<ReturnType<typeof webhook>>;

    beforeAll(async () => {
      hook = await webhook();
      servers.push(hook.server);
      await api.request("PUT", `/api/triggers/${ids.failure}`, {
        event: "Failover Synchronization",
        condition: onlyFor(marker, { variable: "Success", op: "==", value: false }),
        actions: [
          {
            type: "email",
            to: ["ops@example.com"],
            subject: "[{{Primary}}] sync failed: {{Reason}}",
            body: "Mode: {{Mode}}\nItems: {{Items}}\nReason: {{Reason}}",
          },
          {
            type: "http",
            url: `${hook.url}/incident?source={{Primary}}`,
            headers: { "X-Mft-Trigger": "{{Trigger}}" },
            body: '{"success": {{Success|json}}, "reason": {{Reason|json}}}',
          },
        ],
      });
      await api.request("PUT", `/api/triggers/${ids.success}`, {
        event: "Failover Synchronization",
        condition: onlyFor(marker, { variable: "Success", op: "==", value: true }),
        actions: [{ type: "email", to: ["ops@example.com"], subject: "[{{Primary}}] sync ok" }],
      });
      await api.request("PUT", `/api/triggers/${ids.off}`, {
        event: "Failover Synchronization",
        enabled: false,
        condition: onlyFor(marker, { variable: "Success", op: "==", value: false }),
        actions: [
          { type: "email", to: ["ops@example.com"], subject: "[{{Primary}}] disabled" },
          { type: "http", url: `${hook.url}/disabled` },
        ],
      });
      await rulesOf(ids.failure, ids.success);
    });

    it("sends the Success-false trigger's email and HTTP request exactly once, and nothing else", async () => {
      const { id: eventId } = await publish({
        Success: false,
        Reason: "peer down",
        Primary: marker,
        Items: 4,
      });

      await waitFor(
        async () => (await runs(ids.failure)).length > 0,
        10_000,
        "the failure trigger's run",
      );
      // A success event afterwards: its run ends after every run the failed event could have started.
      await publish({ Success: true, Primary: marker, Items: 9 });
      await waitFor(
        async () => (await runs(ids.success)).length > 0,
        10_000,
        "the success trigger's run",
      );

      const received = await mails(marker);
      expect(received.map((mail) => mail.subject).sort()).toEqual([
        `[${marker}] sync failed: peer down`,
        `[${marker}] sync ok`,
      ]);
      const failureMail = received.find((mail) => mail.subject.includes("failed"));
      expect(failureMail?.to).toEqual(["ops@example.com"]);
      const shown = await api.request<{ text: string }>("GET", `/_local/mail/${failureMail?.id}`);
      expect(shown.text).toBe("Mode: automatic\nItems: 4\nReason: peer down");

      expect(hook.hits).toHaveLength(1);
      expect(hook.hits[0]).toMatchObject({
        method: "POST",
        path: `/incident?source=${encodeURIComponent(marker)}`,
        body: '{"success": false, "reason": "peer down"}',
      });
      expect(hook.hits[0]?.headers["x-mft-trigger"]).toBe(ids.failure);

      const [run] = await runs(ids.failure);
      expect(run).toMatchObject({ eventId, ok: true });
      expect(await runs(ids.off)).toEqual([]);
      expect((await runs(ids.success)).map((r) => r.eventId)).not.toContain(eventId);
    });
  });

  describe("an HTTP action whose endpoint is down", () => {
    it("is retried, then reported as failed, while the email still arrives and the publisher is not held up", async () => {
      const marker = unique("down");
      const trigger = unique("down-hook");
      const failing = await webhook(503);
      servers.push(failing.server);
      const closedPort = await freePort(); // nothing listens there
      await api.request("PUT", `/api/triggers/${trigger}`, {
        event: "Failover Synchronization",
        condition: onlyFor(marker, { variable: "Success", op: "==", value: false }),
        actions: [
          { type: "http", url: `${failing.url}/unavailable`, retries: 2, timeoutMs: 1000 },
          {
            type: "http",
            url: `http://127.0.0.1:${closedPort}/refused`,
            retries: 1,
            timeoutMs: 1000,
          },
          { type: "email", to: ["ops@example.com"], subject: "[{{Primary}}] failed" },
        ],
      });

      await rulesOf(trigger);
      await publish({ Success: false, Reason: "timeout", Primary: marker });
      // The event is published (and the sync goes on) before any action has finished.
      expect(await runs(trigger)).toEqual([]);

      const run = await waitFor(
        async () => (await runs(trigger))[0],
        15_000,
        "the run of the trigger with a dead endpoint",
      );
      expect(run?.ok).toBe(false);
      expect(run?.actions[0]).toMatchObject({
        ok: false,
        attempts: 3,
        status: 503,
        error: "HTTP 503",
      });
      expect(failing.hits).toHaveLength(3);
      expect(run?.actions[1]).toMatchObject({ ok: false, attempts: 2, error: "ECONNREFUSED" });
      expect(run?.actions[2]).toMatchObject({ type: "email", ok: true, attempts: 1 });
      expect((await mails(marker)).map((mail) => mail.subject)).toEqual([`[${marker}] failed`]);
    });
  });

  describe("a trigger changed through the API", () => {
    it("gets its rule from the table's stream, and loses it once disabled, then fires no more", async () => {
      const marker = unique("changed");
      const trigger = unique("changed-trg");
      const body = {
        event: "Failover Synchronization",
        condition: onlyFor(marker, { variable: "Success", op: "==", value: false }),
        actions: [{ type: "email", to: ["ops@example.com"], subject: "[{{Primary}}] {{Reason}}" }],
      };
      await api.request("PUT", `/api/triggers/${trigger}`, body);
      await rulesOf(trigger);
      await publish({ Success: false, Primary: marker, Reason: "first" });
      await waitFor(async () => (await runs(trigger)).length === 1, 10_000, "the first run");

      await api.request("PUT", `/api/triggers/${trigger}`, { ...body, enabled: false });
      await waitFor(
        async () =>
          !(
            await api.request<{ items: { name: string }[] }>("GET", "/_local/trigger-rules")
          ).items.some((rule) => rule.name === `mft-trigger-${trigger}`),
        10_000,
        "the disabled trigger's rule removed",
      );
      await publish({ Success: false, Primary: marker, Reason: "second" });
      // A later trigger's run shows the bus delivered the second event.
      const witness = unique("witness");
      await api.request("PUT", `/api/triggers/${witness}`, {
        ...body,
        condition: onlyFor(marker, { variable: "Reason", op: "==", value: "third" }),
      });
      await rulesOf(witness);
      await publish({ Success: false, Primary: marker, Reason: "third" });
      await waitFor(async () => (await runs(witness)).length === 1, 10_000, "the witness run");

      expect((await mails(marker)).map((mail) => mail.subject).sort()).toEqual([
        `[${marker}] first`,
        `[${marker}] third`,
      ]);
      expect(await runs(trigger)).toHaveLength(1);
    });
  });

  describe("the local-only routes", () => {
    it("need the admin credentials", async () => {
      const response = await fetch(new URL("/_local/mail", inject("productionUrl")));
      expect(response.status).toBe(401);
    });

    it("validate a published event like the API validates input", async () => {
      await expect(publish({ Success: "no" })).rejects.toMatchObject({
        status: 400,
        message: expect.stringMatching(/^Success: /),
      });
      await expect(publish({ Success: false, Colour: 1 })).rejects.toMatchObject({
        status: 400,
        message: "Colour: unknown field",
      });
    });
  });
});
