import { describe, expect, it } from "vitest";
import type {
  EmailMessage,
  HttpRequest,
  HttpSender,
  Mailer,
  Trigger,
} from "../../shared/events/actions.ts";
import { runActions } from "../../shared/events/actions.ts";
import { parseTrigger } from "../../shared/events/engine.ts";
import {
  type DeliveredEvent,
  renderLine,
  renderTemplate,
  renderUrl,
  templateVariables,
} from "../../shared/events/template.ts";
import { triggerInput } from "../../shared/model/schemas.ts";

const failedEvent: DeliveredEvent = {
  id: "evt-1",
  time: "2026-01-01T00:00:02Z",
  source: "mft.failover",
  "detail-type": "Failover Synchronization",
  detail: {
    Success: false,
    Mode: "automatic",
    Primary: "prod",
    Failover: "dr",
    StartedAt: "2026-01-01T00:00:00Z",
    FinishedAt: "2026-01-01T00:00:01Z",
    Items: 3,
    Reason: 'peer "dr" unreachable\r\nBcc: evil@example.com',
  },
};
function trigger(id: string, body: Record<string, unknown>): Trigger {
  const parsed = triggerInput.parse({ event: "Failover Synchronization", ...body });
  return { ...parsed, id };
}

class FakeMailer implements Mailer {
  readonly sent: EmailMessage[] = [];
  failures = 0;
  async send(message: EmailMessage) {
    if (this.failures-- > 0) throw new Error("421 try later");
    this.sent.push(message);
  }
}

/** Answers each request with the next scripted status (or error); the last repeats. */
function fakeHttp(...script: (number | Error)[]): HttpSender & { requests: HttpRequest[] } {
  const requests: HttpRequest[] = [];
  const send = async (request: HttpRequest) => {
    requests.push(request);
    const next = script.length > 1 ? script.shift() : script[0];
    if (next instanceof Error) throw next;
    return { status: next ?? 200 };
  };
  return Object.assign(send, { requests });
}

const noWait = { sleep: async () => {}, backoffMs: 10 };

describe("action templates", () => {
  const variables = templateVariables(failedEvent, "t1");

  it("substitute the event's variables; missing ones are empty", () => {
    expect(
      renderTemplate(
        "{{Success}} {{ Mode }} {{Items}} [{{SyncId}}] [{{Nope}}] {{Trigger}}",
        variables,
      ),
    ).toBe("false automatic 3 [] [] t1");
    expect(renderTemplate("no placeholders {{", variables)).toBe("no placeholders {{");
  });

  it("a change of outcome: {{Changed}} and {{PreviousSuccess}} (blank before the first event)", () => {
    const healed: DeliveredEvent = {
      ...failedEvent,
      detail: {
        ...(failedEvent.detail as object),
        Success: true,
        PreviousSuccess: false,
        Changed: true,
      },
    };
    const seen = templateVariables(healed, "t1");
    expect(
      renderTemplate("{{Success}} after {{PreviousSuccess}}, changed: {{Changed}}", seen),
    ).toBe("true after false, changed: true");
    expect(renderTemplate("[{{PreviousSuccess}}]", variables)).toBe("[]");
  });

  it("json and url filters, and per-place escaping", () => {
    expect(
      renderTemplate(
        '{"ok":{{Success|json}},"why":{{Reason | json}},"id":{{SyncId|json}}}',
        variables,
      ),
    ).toBe('{"ok":false,"why":"peer \\"dr\\" unreachable\\r\\nBcc: evil@example.com","id":null}');
    expect(renderUrl("https://hooks.example.com/{{Primary}}?r={{Reason}}", variables)).toBe(
      "https://hooks.example.com/prod?r=peer%20%22dr%22%20unreachable%0D%0ABcc%3A%20evil%40example.com",
    );
    expect(renderUrl("https://h.example.com/?r={{Reason|url}}", variables)).toBe(
      "https://h.example.com/?r=peer%20%22dr%22%20unreachable%0D%0ABcc%3A%20evil%40example.com",
    );
    expect(renderLine("Sync failed: {{Reason}}", variables)).toBe(
      'Sync failed: peer "dr" unreachable Bcc: evil@example.com',
    );
  });

  it("see only whitelisted event fields, never anything else the event carries", () => {
    const leaky: DeliveredEvent = {
      ...failedEvent,
      detail: { ...(failedEvent.detail as object), password: "hunter2", Nested: { a: 1 } },
    };
    const seen = templateVariables(leaky, "t1");
    expect(Object.keys(seen)).not.toContain("password");
    expect(renderTemplate("{{password}}{{Nested}}", seen)).toBe("");
    expect(JSON.stringify(seen)).not.toContain("hunter2");
  });
});

describe("running a trigger's actions (R17)", () => {
  it("sends the email and the HTTP request with rendered templates", async () => {
    const mailer = new FakeMailer();
    const http = fakeHttp(204);
    const t = trigger("t1", {
      actions: [
        {
          type: "email",
          to: ["ops@example.com"],
          subject: "Sync {{Mode}} failed",
          body: "Reason: {{Reason}}",
        },
        {
          type: "http",
          url: "https://hooks.example.com/incident?token=s3cret",
          headers: { "X-Trigger": "{{Trigger}}" },
          body: '{"success":{{Success|json}}}',
        },
      ],
    });

    const run = await runActions(t, failedEvent, { mailer, http, ...noWait });

    expect(run).toMatchObject({ triggerId: "t1", eventId: "evt-1", ok: true });
    expect(mailer.sent).toEqual([
      {
        to: ["ops@example.com"],
        subject: "Sync automatic failed",
        text: 'Reason: peer "dr" unreachable\r\nBcc: evil@example.com',
      },
    ]);
    expect(http.requests).toEqual([
      {
        url: "https://hooks.example.com/incident?token=s3cret",
        method: "POST",
        headers: {
          "X-Trigger": "t1",
          "Idempotency-Key": "evt-1-t1",
          "content-type": "application/json",
        },
        body: '{"success":false}',
        timeoutMs: 5000,
      },
    ]);
    // The recorded target is the host only: paths and queries may hold tokens.
    expect(run.actions[1]).toEqual({
      index: 1,
      type: "http",
      target: "POST hooks.example.com",
      ok: true,
      attempts: 1,
      status: 204,
    });
    expect(JSON.stringify(run)).not.toContain("s3cret");
  });

  it("without a body template, POSTs the event's variables as JSON", async () => {
    const http = fakeHttp(200);
    const t = trigger("t2", { actions: [{ type: "http", url: "http://127.0.0.1:9/hook" }] });
    await runActions(t, failedEvent, { mailer: new FakeMailer(), http, ...noWait });
    expect(http.requests[0]?.headers).toEqual({
      "content-type": "application/json",
      "Idempotency-Key": "evt-1-t2",
    });
    expect(JSON.parse(http.requests[0]?.body ?? "")).toMatchObject({ Success: false, Items: 3 });
  });

  it("retries an HTTP action with growing backoff, then reports it failed; email still goes", async () => {
    const waits: number[] = [];
    const mailer = new FakeMailer();
    const refused = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    });
    const http = fakeHttp(refused);
    const t = trigger("t3", {
      actions: [
        { type: "http", url: "http://127.0.0.1:9/down", retries: 3 },
        { type: "email", to: ["ops@example.com"], subject: "s" },
      ],
    });

    const run = await runActions(t, failedEvent, {
      mailer,
      http,
      backoffMs: 100,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });

    expect(http.requests).toHaveLength(4);
    expect(waits).toEqual([100, 200, 400]);
    expect(run.ok).toBe(false);
    expect(run.actions[0]).toMatchObject({ ok: false, attempts: 4, error: "ECONNREFUSED" });
    expect(run.actions[1]).toMatchObject({ ok: true, type: "email" });
    expect(mailer.sent).toHaveLength(1);
  });

  it("retries 5xx and then succeeds; does not retry a 4xx", async () => {
    const flaky = fakeHttp(503, 502, 200);
    const t = trigger("t4", { actions: [{ type: "http", url: "http://127.0.0.1:9/x" }] });
    const run = await runActions(t, failedEvent, {
      mailer: new FakeMailer(),
      http: flaky,
      ...noWait,
    });
    expect(run.actions[0]).toMatchObject({ ok: true, attempts: 3, status: 200 });

    const rejecting = fakeHttp(403);
    const denied = await runActions(t, failedEvent, {
      mailer: new FakeMailer(),
      http: rejecting,
      ...noWait,
    });
    expect(denied.actions[0]).toMatchObject({
      ok: false,
      attempts: 1,
      status: 403,
      error: "HTTP 403",
    });
  });

  it("retries a failed email", async () => {
    const mailer = new FakeMailer();
    mailer.failures = 1;
    const t = trigger("t5", { actions: [{ type: "email", to: ["a@example.com"], subject: "s" }] });
    const run = await runActions(t, failedEvent, { mailer, http: fakeHttp(200), ...noWait });
    expect(run.actions[0]).toMatchObject({ ok: true, attempts: 2 });
  });
});

describe("stored triggers", () => {
  const email = (subject: string) => [{ type: "email", to: ["ops@example.com"], subject }];

  it("parses stored triggers as the config service shows them", () => {
    const view = {
      id: "x",
      version: 5,
      updatedAt: 1,
      event: "Failover Synchronization",
      enabled: true,
      description: "",
      actions: email("s"),
    };
    expect(parseTrigger(view)).toMatchObject({ id: "x", enabled: true });
    expect(parseTrigger({ ...view, actions: [] })).toBeUndefined();
  });
});
