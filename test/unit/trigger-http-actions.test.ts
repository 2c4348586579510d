import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { describe, expect, it, vi } from "vitest";
import { createTriggerActionsHandler } from "../../functions/trigger-actions/app.ts";
import { lambdaContext } from "../../infra/local/lambda-context.ts";
import { safeHttpSender } from "../../shared/adapters/safe-http.ts";
import { triggers } from "../../shared/config/entities.ts";
import { ConfigService } from "../../shared/config/service.ts";
import { AppError } from "../../shared/errors.ts";
import {
  type HttpRequest,
  type HttpSender,
  runActions,
  type Trigger,
} from "../../shared/events/actions.ts";
import {
  type DeliveredEvent,
  renderJsonTemplate,
  templateVariables,
} from "../../shared/events/template.ts";
import { triggerInput } from "../../shared/model/schemas.ts";
import { HybridClock } from "../../shared/model/version.ts";
import { MemoryStore } from "../support/memory-store.ts";

// R17 and issue 13 item 4: what an HTTP action sends, and what is recorded of it.

const hostile = 'peer "dr" said \\ no\r\n", "admin": true, "x": "';
const event: DeliveredEvent = {
  id: "evt-1",
  time: "2026-01-01T00:00:02Z",
  source: "mft.failover",
  "detail-type": "Failover Synchronization",
  detail: { Success: false, Mode: "automatic", Items: 3, Reason: hostile },
};

const trigger = (id: string, actions: unknown[]): Trigger => ({
  ...triggerInput.parse({ event: "Failover Synchronization", actions }),
  id,
});

function recorder(status = 204): HttpSender & { requests: HttpRequest[] } {
  const requests: HttpRequest[] = [];
  const send = async (request: HttpRequest) => {
    requests.push(request);
    return { status };
  };
  return Object.assign(send, { requests });
}

const noMail = { send: async () => {} };
const noWait = { sleep: async () => {}, backoffMs: 1 };

async function sent(action: Record<string, unknown>): Promise<HttpRequest> {
  const http = recorder();
  await runActions(trigger("t1", [{ type: "http", ...action }]), event, {
    mailer: noMail,
    http,
    ...noWait,
  });
  const [request] = http.requests;
  if (!request) throw new Error("no request was sent");
  return request;
}

describe("JSON bodies escape values as JSON", () => {
  const variables = templateVariables(event, "t1");

  it("a value inside a JSON string is string-escaped, so it cannot break out", () => {
    const body = renderJsonTemplate(
      '{"reason": "sync: {{Reason}}", "id": "{{Trigger}}"}',
      variables,
    );
    expect(JSON.parse(body)).toEqual({ reason: `sync: ${hostile}`, id: "t1" });
  });

  it("a value outside a string is a JSON literal; {{X | json}} stays a literal; url-encoding stays", () => {
    const body = renderJsonTemplate(
      '{"ok": {{Success}}, "items": {{Items}}, "sync": {{SyncId}}, "why": {{Reason | json}}, "q": "{{Mode|url}}"}',
      variables,
    );
    expect(JSON.parse(body)).toEqual({
      ok: false,
      items: 3,
      sync: null,
      why: hostile,
      q: "automatic",
    });
  });

  it("a template's own escapes and a lone backslash before a value do not let it out", () => {
    const body = renderJsonTemplate('["a \\"quoted\\" {{Reason}}", "\\{{Reason}}"]', variables);
    expect(JSON.parse(body)).toEqual([`a "quoted" ${hostile}`, `\\${hostile}`]);
  });

  it("an action: JSON-shaped body without a content type → escaped, and content-type JSON", async () => {
    const request = await sent({
      url: "https://hooks.example.com/x",
      body: ' {"text": "{{Reason}}"}',
    });
    expect(request.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(request.body ?? "")).toEqual({ text: hostile });
  });

  it("an action: a content type with `json` makes any body JSON; the action's own type is kept", async () => {
    const request = await sent({
      url: "https://hooks.example.com/x",
      headers: { "Content-Type": "application/vnd.api+json" },
      body: '"{{Reason}}"',
    });
    expect(request.headers).not.toHaveProperty("content-type");
    expect(request.headers["Content-Type"]).toBe("application/vnd.api+json");
    expect(JSON.parse(request.body ?? "")).toBe(hostile);
  });

  it("an action: a text body (or a non-JSON content type) is rendered as text, with no type added", async () => {
    const text = await sent({ url: "https://hooks.example.com/x", body: "Reason: {{Reason}}" });
    expect(text.body).toBe(`Reason: ${hostile}`);
    expect(text.headers).not.toHaveProperty("content-type");
    const form = await sent({
      url: "https://hooks.example.com/x",
      headers: { "content-type": "text/plain" },
      body: '{"a": "{{Reason}}"}',
    });
    expect(form.body).toBe(`{"a": "${hostile}"}`);
  });
});

describe("every HTTP action request", () => {
  it("carries Idempotency-Key: <EventId>-<trigger id>", async () => {
    const request = await sent({ url: "https://hooks.example.com/x" });
    expect(request.headers["Idempotency-Key"]).toBe("evt-1-t1");
  });

  it("keeps an action's own Idempotency-Key (in any case), and sends only that one", async () => {
    const request = await sent({
      url: "https://hooks.example.com/x",
      headers: { "idempotency-key": "mine-{{EventId}}" },
    });
    const keys = Object.entries(request.headers).filter(
      ([name]) => name.toLowerCase() === "idempotency-key",
    );
    expect(keys).toEqual([["idempotency-key", "mine-evt-1"]]);
  });

  it("sends a secret header as given, untemplated, and names it secret for the redirect rule", async () => {
    const request = await sent({
      url: "https://hooks.example.com/x",
      headers: { Authorization: { secret: "Bearer {{Mode}}" }, "X-Plain": "{{Mode}}" },
    });
    expect(request.headers).toMatchObject({
      Authorization: "Bearer {{Mode}}",
      "X-Plain": "automatic",
    });
    expect(request.secretHeaders).toEqual(["Authorization"]);
  });

  it("fails (without sending) when a secret header has no stored value", async () => {
    const http = recorder();
    const run = await runActions(
      trigger("t1", [
        {
          type: "http",
          url: "https://hooks.example.com/x",
          headers: { "X-Key": { secret: true } },
        },
      ]),
      event,
      { mailer: noMail, http, ...noWait },
    );
    expect(http.requests).toEqual([]);
    expect(run.actions[0]).toMatchObject({
      ok: false,
      attempts: 0,
      error: "header X-Key: its secret value is not stored",
    });
  });
});

describe("what is recorded of an HTTP action: the host only", () => {
  const url = "https://hooks.example.com:8443/services/T0KEN/B0T?token=s3cret#frag";

  it("a success records the method and host, nothing of the path, query, headers or body", async () => {
    const run = await runActions(
      trigger("t1", [
        {
          type: "http",
          url,
          headers: { Authorization: { secret: "Bearer hunter2" } },
          body: "b0dy",
        },
      ]),
      event,
      { mailer: noMail, http: recorder(), ...noWait },
    );
    expect(run.actions[0]).toEqual({
      index: 0,
      type: "http",
      target: "POST hooks.example.com:8443",
      ok: true,
      attempts: 1,
      status: 204,
    });
    expect(JSON.stringify(run)).not.toMatch(/T0KEN|s3cret|hunter2|b0dy|services/);
  });

  it("a refused request is not retried, and its reason names the host and address only", async () => {
    const metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/?t=s3cret";
    const run = await runActions(
      trigger("t1", [{ type: "http", url: metadata, retries: 3 }]),
      event,
      { mailer: noMail, http: safeHttpSender(), ...noWait },
    );
    expect(run.actions[0]).toMatchObject({
      ok: false,
      attempts: 1,
      target: "POST 169.254.169.254",
      error: expect.stringContaining("169.254.169.254 (linkLocal)"),
    });
    expect(JSON.stringify(run)).not.toMatch(/meta-data|s3cret|latest/);
  });
});

describe("secret header values are write-only (the config service)", () => {
  const service = () =>
    new ConfigService({
      store: new MemoryStore(),
      clock: new HybridClock(() => 1_000),
      serverId: "prod",
    });
  const body = (url: string, authorization: unknown) => ({
    event: "Failover Synchronization",
    actions: [
      { type: "email", to: ["ops@example.com"], subject: "s" },
      { type: "http", url, headers: { Authorization: authorization, "X-Plain": "p" } },
    ],
  });
  const headersOf = (view: Record<string, unknown>) =>
    (view.actions as { headers?: Record<string, unknown> }[])[1]?.headers;
  const stored = async (config: ConfigService) =>
    headersOf(await config.get(triggers, { id: "t" }, { withSecrets: true }));
  const fails = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  };

  it("are stored as given and shown as {secret: true}, on put, get and list", async () => {
    const config = service();
    const { item } = await config.put(
      triggers,
      { id: "t" },
      body("https://hooks.example.com/a", { secret: "Bearer hunter2" }),
    );
    const shown = { secret: true };
    expect(headersOf(item)).toEqual({ Authorization: shown, "X-Plain": "p" });
    expect(headersOf(await config.get(triggers, { id: "t" }))).toEqual({
      Authorization: shown,
      "X-Plain": "p",
    });
    const listed = await config.list(triggers, undefined, { limit: 10 });
    expect(JSON.stringify(listed)).not.toContain("hunter2");
    expect(await stored(config)).toEqual({
      Authorization: { secret: "Bearer hunter2" },
      "X-Plain": "p",
    });
  });

  it("a PUT of what GET showed keeps the stored value; a new value replaces it", async () => {
    const config = service();
    await config.put(triggers, { id: "t" }, body("https://hooks.example.com/a", { secret: "one" }));
    const shown = await config.get(triggers, { id: "t" });
    const { id: _id, version: _version, updatedAt: _updatedAt, ...again } = shown;
    await config.put(triggers, { id: "t" }, again);
    expect(await stored(config)).toMatchObject({ Authorization: { secret: "one" } });

    // Another path on the same origin keeps it too.
    await config.put(
      triggers,
      { id: "t" },
      body("https://hooks.example.com/b?x=1", { secret: true }),
    );
    expect(await stored(config)).toMatchObject({ Authorization: { secret: "one" } });

    await config.put(triggers, { id: "t" }, body("https://hooks.example.com/b", { secret: "two" }));
    expect(await stored(config)).toMatchObject({ Authorization: { secret: "two" } });
  });

  it("{secret: true} with nothing stored to keep is a 400 naming the header", async () => {
    const config = service();
    const error = await fails(
      config.put(triggers, { id: "t" }, body("https://hooks.example.com/a", { secret: true })),
    );
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^actions\[1\]\.headers\.Authorization: has no stored secret/);

    // A plain stored value is no secret to keep either.
    await config.put(triggers, { id: "t" }, body("https://hooks.example.com/a", "plain"));
    await fails(
      config.put(triggers, { id: "t" }, body("https://hooks.example.com/a", { secret: true })),
    );
  });

  it("is not kept when the action's url moves to another origin: the secret goes only where it was given for", async () => {
    const config = service();
    await config.put(triggers, { id: "t" }, body("https://hooks.example.com/a", { secret: "one" }));
    for (const moved of [
      "https://attacker.example/a",
      "http://hooks.example.com/a",
      "https://hooks.example.com:8443/a",
    ]) {
      const error = await fails(config.put(triggers, { id: "t" }, body(moved, { secret: true })));
      expect(error.message).toMatch(/^actions\[1\]\.headers\.Authorization: a secret is kept only/);
    }
    expect(await stored(config)).toMatchObject({ Authorization: { secret: "one" } });
  });

  it("refuses a secret with a line break, and other shapes", async () => {
    const config = service();
    for (const value of [
      { secret: "a\r\nX-Evil: 1" },
      { secret: false },
      { secret: "" },
      { other: 1 },
    ]) {
      const error = await fails(
        config.put(triggers, { id: "t" }, body("https://hooks.example.com/a", value)),
      );
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/^actions\[1\]\.headers\.Authorization/);
    }
  });
});

describe("the trigger-actions function (the cloud's rule target)", () => {
  it("sends the stored secret header, and logs the run without path, query or header values", async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = "true";
    const config = new ConfigService({
      store: new MemoryStore(),
      clock: new HybridClock(() => 1_000),
      serverId: "prod",
    });
    await config.put(
      triggers,
      { id: "hook" },
      {
        event: "Failover Synchronization",
        actions: [
          {
            type: "http",
            url: "https://hooks.example.com/services/T0KEN?key=q5ecret",
            headers: { Authorization: { secret: "Bearer hunter2" } },
          },
        ],
      },
    );
    const logger = new Logger({ logLevel: "SILENT" });
    const logged = [vi.spyOn(logger, "info"), vi.spyOn(logger, "warn")];
    const http = recorder();
    const handler = createTriggerActionsHandler({
      config,
      mailer: noMail,
      http,
      ...noWait,
      logger,
      metrics: new Metrics({ namespace: "test", serviceName: "trigger-actions" }),
    });

    const run = await handler({ triggerId: "hook", event }, lambdaContext("test"));

    expect(http.requests[0]?.headers).toMatchObject({
      Authorization: "Bearer hunter2",
      "Idempotency-Key": "evt-1-hook",
    });
    expect(run).toMatchObject({ ok: true, actions: [{ target: "POST hooks.example.com" }] });
    const lines = JSON.stringify(logged.flatMap((spy) => spy.mock.calls));
    expect(lines).toContain("POST hooks.example.com");
    expect(lines).not.toMatch(/T0KEN|q5ecret|hunter2|services/);
  });
});
