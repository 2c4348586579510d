/**
 * A trigger's actions (R17): Send Email and HTTP request, run against ports so the same code
 * runs in the cloud (SES/SNS, the actions Lambda) and locally (SMTP, the local bus).
 *
 * Every action runs on its own: a failing or slow one never stops the others, and nothing
 * here throws. Each outcome is recorded (sent/failed, attempts, HTTP status, a short reason).
 */
import type { z } from "zod";
import type { triggerInput } from "../model/schemas.ts";
import {
  type DeliveredEvent,
  isJsonTemplate,
  renderJsonTemplate,
  renderLine,
  renderTemplate,
  renderUrl,
  type TemplateVariables,
  templateVariables,
} from "./template.ts";

export type TriggerConfig = z.infer<typeof triggerInput>;
export type TriggerAction = TriggerConfig["actions"][number];
export type EmailAction = Extract<TriggerAction, { type: "email" }>;
export type HttpAction = Extract<TriggerAction, { type: "http" }>;
/** A stored trigger: its id and its validated configuration. */
export type Trigger = Omit<TriggerConfig, "version"> & { readonly id: string };

export interface EmailMessage {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

/** Sends email: SMTP locally, SES (or SNS where SES is not set up) in the cloud. */
export interface Mailer {
  send(message: EmailMessage): Promise<void>;
}

export interface HttpRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Names of the headers whose values are secret: never sent to another origin on a redirect. */
  readonly secretHeaders?: readonly string[];
  readonly body?: string;
  /** Bounds the whole exchange: resolution, every redirect hop, reading the answer. */
  readonly timeoutMs: number;
}

/** A request the sender will not make (a denied address, a bad redirect): not worth a retry. */
export class RequestRefused extends Error {
  override readonly name = "RequestRefused";
}

/**
 * Sends one HTTP request; resolves with the status, rejects on network errors, timeouts (an
 * error named TimeoutError) and refusals (RequestRefused: not retried). The real one is
 * `safeHttpSender` (shared/adapters/safe-http.ts).
 */
export type HttpSender = (request: HttpRequest) => Promise<{ readonly status: number }>;

export interface ActionResult {
  readonly index: number;
  readonly type: TriggerAction["type"];
  /** Recipients, or the method and the URL's host (`POST hooks.example.com`): paths and queries may hold tokens. */
  readonly target: string;
  readonly ok: boolean;
  readonly attempts: number;
  /** The last HTTP status, if an answer came. */
  readonly status?: number;
  /** Why it failed (short, no secrets). */
  readonly error?: string;
}

export interface TriggerRun {
  readonly triggerId: string;
  readonly eventId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ok: boolean;
  readonly actions: readonly ActionResult[];
}

export interface ActionPorts {
  readonly mailer: Mailer;
  readonly http: HttpSender;
  /** Waits between retries; injectable so tests need not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** First retry delay; doubled at each further retry. @default 200 */
  readonly backoffMs?: number;
  readonly now?: () => Date;
}

/** Email is retried this often (its timeouts are the mailer's). */
export const EMAIL_RETRIES = 2;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs every action of `trigger` for `event`, concurrently; never throws. */
export async function runActions(
  trigger: Trigger,
  event: DeliveredEvent,
  ports: ActionPorts,
): Promise<TriggerRun> {
  const now = ports.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const variables = templateVariables(event, trigger.id);
  const actions = await Promise.all(
    trigger.actions.map((action, index) =>
      action.type === "email"
        ? sendEmail(index, action, variables, ports)
        : sendHttp(index, action, variables, ports),
    ),
  );
  return {
    triggerId: trigger.id,
    eventId: event.id,
    startedAt,
    finishedAt: now().toISOString(),
    ok: actions.every((result) => result.ok),
    actions,
  };
}

type Attempt =
  | { ok: true; status?: number }
  | { ok: false; retry: boolean; error: string; status?: number };

/** Runs `attempt` up to 1 + retries times, with exponential backoff between failed attempts. */
async function withRetries(
  retries: number,
  ports: ActionPorts,
  attempt: () => Promise<Attempt>,
): Promise<{ attempts: number; last: Attempt }> {
  const sleep = ports.sleep ?? defaultSleep;
  const base = ports.backoffMs ?? 200;
  for (let attempts = 1; ; attempts++) {
    const last = await attempt();
    if (last.ok || !last.retry || attempts > retries) return { attempts, last };
    await sleep(base * 2 ** (attempts - 1));
  }
}

function result(
  index: number,
  type: TriggerAction["type"],
  target: string,
  { attempts, last }: { attempts: number; last: Attempt },
): ActionResult {
  return {
    index,
    type,
    target,
    ok: last.ok,
    attempts,
    ...(last.status !== undefined ? { status: last.status } : {}),
    ...(!last.ok ? { error: last.error } : {}),
  };
}

async function sendEmail(
  index: number,
  action: EmailAction,
  variables: TemplateVariables,
  ports: ActionPorts,
): Promise<ActionResult> {
  const message: EmailMessage = {
    to: action.to,
    subject: renderLine(action.subject, variables),
    text: renderTemplate(action.body, variables),
  };
  const outcome = await withRetries(EMAIL_RETRIES, ports, async () => {
    try {
      await ports.mailer.send(message);
      return { ok: true };
    } catch (error) {
      return { ok: false, retry: true, error: describeError(error) };
    }
  });
  return result(index, "email", action.to.join(", "), outcome);
}

async function sendHttp(
  index: number,
  action: HttpAction,
  variables: TemplateVariables,
  ports: ActionPorts,
): Promise<ActionResult> {
  const refuse = (target: string, error: string) =>
    result(index, "http", target, { attempts: 0, last: { ok: false, retry: false, error } });
  let url: URL;
  try {
    url = new URL(renderUrl(action.url, variables));
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    return refuse("invalid url", "the rendered url is not a valid http(s) URL");
  }
  // Only the host is ever recorded or logged: paths and queries of webhooks hold tokens.
  const target = `${action.method} ${url.host}`;
  const headers: Record<string, string> = {};
  const secretHeaders: string[] = [];
  for (const [name, value] of Object.entries(action.headers)) {
    if (typeof value === "string") headers[name] = renderLine(value, variables);
    else if (typeof value.secret === "string") {
      // Secret values are sent as given: never templated, never shown.
      headers[name] = value.secret;
      secretHeaders.push(name);
    } else return refuse(target, `header ${name}: its secret value is not stored`);
  }
  if (!hasHeader(headers, "idempotency-key")) {
    headers["Idempotency-Key"] = `${variables.EventId ?? ""}-${variables.Trigger ?? ""}`;
  }
  const body = httpBody(action, variables, headers);
  const request: HttpRequest = {
    url: url.href,
    method: action.method,
    headers,
    ...(secretHeaders.length > 0 ? { secretHeaders } : {}),
    ...(body !== undefined ? { body } : {}),
    timeoutMs: action.timeoutMs,
  };
  const outcome = await withRetries(action.retries, ports, async () => {
    try {
      const { status } = await ports.http(request);
      if (status >= 200 && status < 300) return { ok: true, status };
      // Server errors, throttling and timeouts may pass; other answers will not change.
      const retry = status >= 500 || status === 429 || status === 408;
      return { ok: false, retry, status, error: `HTTP ${status}` };
    } catch (error) {
      // A denied address or a refused redirect stays refused.
      if (error instanceof RequestRefused) return { ok: false, retry: false, error: error.message };
      const timedOut = error instanceof Error && error.name === "TimeoutError";
      const reason = timedOut ? `timed out after ${action.timeoutMs} ms` : describeError(error);
      return { ok: false, retry: true, error: reason };
    }
  });
  return result(index, "http", target, outcome);
}

const hasHeader = (headers: Record<string, string>, lowerName: string) =>
  Object.keys(headers).some((name) => name.toLowerCase() === lowerName);

/**
 * The body: none with GET; the event's variables as JSON without a body template; the body
 * template rendered otherwise. A body is JSON when the action's content-type contains `json`,
 * or, without a content-type, when the template starts with `{` or `[`; a JSON body's values are
 * escaped as JSON (see renderJsonTemplate). A JSON body without a content-type gets
 * `content-type: application/json`.
 */
function httpBody(
  action: HttpAction,
  variables: TemplateVariables,
  headers: Record<string, string>,
): string | undefined {
  if (action.method === "GET") return undefined;
  const contentType = Object.entries(headers).find(
    ([name]) => name.toLowerCase() === "content-type",
  )?.[1];
  const json =
    contentType !== undefined
      ? contentType.toLowerCase().includes("json")
      : action.body === undefined || isJsonTemplate(action.body);
  if (json && contentType === undefined) headers["content-type"] = "application/json";
  if (action.body === undefined) return JSON.stringify(variables);
  return json ? renderJsonTemplate(action.body, variables) : renderTemplate(action.body, variables);
}

/** A short reason: the error's code (ECONNREFUSED…) or message, never a stack or a payload. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return "failed";
  // fetch says "fetch failed" and puts the reason (ECONNREFUSED, "bad port"…) in its cause.
  const cause = (error as { cause?: unknown }).cause;
  const code =
    (cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown }).code;
  const text =
    typeof code === "string"
      ? code
      : cause instanceof Error && cause.message
        ? cause.message
        : error.message || error.name;
  return text.slice(0, 200);
}
