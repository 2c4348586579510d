/**
 * Local mode's EventBridge rules (R17): a TriggerEngine subscribed to each region's bus, and the
 * local-only routes (`/_local/...`) that show the mailbox and the trigger runs and let a demo or a
 * test publish an event. Those routes are served by the local runtime in front of the admin API
 * handler; they do not exist in the cloud.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { z } from "zod";
import {
  type HttpEvent,
  type HttpHandler,
  type HttpResult,
  json,
  parseBasic,
} from "../../functions/http.ts";
import { credentialsMatch } from "../../shared/auth/admin.ts";
import type { ConfigService } from "../../shared/config/service.ts";
import { fromZodError } from "../../shared/errors.ts";
import type { HttpSender, Mailer, TriggerRun } from "../../shared/events/actions.ts";
import { loadTriggers, TriggerEngine } from "../../shared/events/engine.ts";
import { allowHostList, safeHttpSender } from "../../shared/events/safe-http.ts";
import type { Credentials } from "../../shared/ports.ts";
import { type SyncEventDetail, syncEvent } from "../../shared/sync/events.ts";
import type { LocalEventBus } from "./event-bus.ts";
import type { LocalMailServer } from "./smtp.ts";

/** Runs kept for `GET /_local/trigger-runs`; older ones are dropped first. */
const KEEP_RUNS = 1000;

export interface LocalTriggers {
  runs(): readonly TriggerRun[];
}

/**
 * `MFT_HTTP_ALLOW_HOSTS`: the hosts local HTTP actions may reach at a private or link-local
 * address (comma-separated host names or IP literals); loopback is allowed anyway locally.
 */
export function localAllowHosts(value = process.env.MFT_HTTP_ALLOW_HOSTS): string[] {
  const parsed = allowHostList.optional().safeParse(value);
  if (!parsed.success) {
    throw new Error(`MFT_HTTP_ALLOW_HOSTS: ${fromZodError(parsed.error).message}`);
  }
  return parsed.data ?? [];
}

/** Subscribes one region's triggers to its bus: every published event is matched and acted on. */
export function startLocalTriggers(deps: {
  readonly bus: LocalEventBus;
  readonly config: Pick<ConfigService, "list">;
  readonly mailer: Mailer;
  readonly logger: Logger;
  /** @default safeHttpSender: loopback allowed (webhooks on 127.0.0.1), plus `MFT_HTTP_ALLOW_HOSTS` */
  readonly http?: HttpSender;
  readonly backoffMs?: number;
}): LocalTriggers {
  const runs: TriggerRun[] = [];
  const http = deps.http ?? safeHttpSender({ allowLoopback: true, allowHosts: localAllowHosts() });
  const engine = new TriggerEngine({
    // With the secret header values, which the actions send (the API never shows them).
    triggers: () =>
      loadTriggers({
        list: (type, domain, page) => deps.config.list(type, domain, page, { withSecrets: true }),
      }),
    mailer: deps.mailer,
    http,
    ...(deps.backoffMs !== undefined ? { backoffMs: deps.backoffMs } : {}),
    record: (run) => {
      runs.push(run);
      if (runs.length > KEEP_RUNS) runs.shift();
      const failed = run.actions.filter((action) => !action.ok);
      if (failed.length > 0) deps.logger.warn("trigger actions failed", { run });
      else deps.logger.info("trigger ran", { run });
    },
  });
  deps.bus.subscribe(async (event) => {
    try {
      await engine.handle(event);
    } catch (error) {
      // Reading the triggers failed (the table is down): EventBridge would retry; say so.
      deps.logger.error(
        "trigger evaluation failed",
        error instanceof Error ? error : String(error),
      );
    }
  });
  return { runs: () => runs };
}

export interface LocalRoutesDeps {
  readonly admin: Credentials;
  readonly bus: LocalEventBus;
  readonly mail: LocalMailServer;
  readonly triggers: LocalTriggers;
}

const error = (status: number, code: string, message: string) =>
  json(status, { error: { code, message } });

/** What `POST /_local/events` takes: a sync event's detail (R16), with demo-friendly defaults. */
const publishedDetail = z.strictObject({
  Success: z.boolean(),
  Mode: z.enum(["automatic", "on-demand"]).default("automatic"),
  Primary: z.string().max(256).default("local-primary"),
  Failover: z.string().max(256).default("local-failover"),
  StartedAt: z.iso.datetime().optional(),
  FinishedAt: z.iso.datetime().optional(),
  Items: z.number().int().min(0).default(0),
  Reason: z.string().max(1024).optional(),
  SyncId: z.string().max(128).optional(),
});

/**
 * Serves `/_local/...` (admin Basic auth, like the API) and hands everything else to the admin
 * API handler:
 * - `GET /_local/mail`, `GET /_local/mail/{id}`: the local mailbox (SMTP server);
 * - `GET /_local/trigger-runs`: recorded trigger runs and their action results;
 * - `POST /_local/events`: publishes a `Failover Synchronization` event with the given detail
 *   on this region's bus (a testing and demo aid: what a failed sync would publish).
 */
export function withLocalRoutes(api: HttpHandler, deps: LocalRoutesDeps): HttpHandler {
  return async (event, context) => {
    const path = event.rawPath;
    if (!path.startsWith("/_local/")) return api(event, context);
    const given = parseBasic(event.headers.authorization);
    if (!given || !credentialsMatch(given, deps.admin)) {
      const result = error(401, "unauthorized", "valid Basic credentials are required");
      return { ...result, headers: { ...result.headers, "www-authenticate": 'Basic realm="mft"' } };
    }
    const method = event.requestContext.http.method;
    if (method === "GET" && path === "/_local/mail") {
      const items = deps.mail.messages().map(({ text: _text, ...summary }) => summary);
      return json(200, { smtp: `${deps.mail.host}:${deps.mail.port}`, items });
    }
    const mailId = /^\/_local\/mail\/(\d+)$/.exec(path)?.[1];
    if (method === "GET" && mailId !== undefined) {
      const message = deps.mail.messages().find((mail) => mail.id === Number(mailId));
      return message ? json(200, message) : error(404, "not_found", `message ${mailId} not found`);
    }
    if (method === "GET" && path === "/_local/trigger-runs") {
      return json(200, { items: deps.triggers.runs() });
    }
    if (method === "POST" && path === "/_local/events") return publish(event, deps.bus);
    return error(404, "not_found", `no route ${method} ${path}`);
  };
}

async function publish(event: HttpEvent, bus: LocalEventBus): Promise<HttpResult> {
  let body: unknown;
  try {
    body = JSON.parse(event.body ?? "");
  } catch {
    return error(400, "invalid_request", "body: is not valid JSON");
  }
  const parsed = publishedDetail.safeParse(body);
  if (!parsed.success) {
    const problem = fromZodError(parsed.error);
    return error(problem.status, problem.code, problem.message);
  }
  const now = new Date().toISOString();
  const { StartedAt, FinishedAt, ...rest } = parsed.data;
  const detail: SyncEventDetail = {
    ...rest,
    StartedAt: StartedAt ?? now,
    FinishedAt: FinishedAt ?? now,
  };
  const before = bus.events().length;
  const published = bus.publish(syncEvent(detail));
  // The bus records the event synchronously, before delivering it: that is ours.
  const delivered = bus.events()[before];
  await published;
  return json(202, { id: delivered?.id, detail });
}
