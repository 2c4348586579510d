import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import type { AdminAuth } from "../../shared/auth/admin.ts";
import * as entities from "../../shared/config/entities.ts";
import type { ConfigService } from "../../shared/config/service.ts";
import { AppError, fromZodError } from "../../shared/errors.ts";
import type { HistoryService } from "../../shared/history/service.ts";
import { rewindInput } from "../../shared/model/schemas.ts";
import type { BulkStore, RunStarter } from "../../shared/ports.ts";
import { type FailbackDeps, failbackView, requestFailback } from "../../shared/sync/failback.ts";
import * as fullSync from "../../shared/sync/full/api.ts";
import * as fullReceive from "../../shared/sync/full/receive.ts";
import { checkDrift } from "../../shared/sync/monitor.ts";
import * as sync from "../../shared/sync/operations.ts";
import { answerDeadline, withDeadline } from "../../shared/sync/peer.ts";
import { takeOver } from "../../shared/sync/takeover.ts";
import { digestsPage, recordsPage, repair } from "../../shared/sync/verify.ts";
import {
  basicAuth,
  type HttpEvent,
  type HttpResult,
  json,
  jsonBody,
  jsonErrors,
  parseBasic,
} from "../http.ts";
import { consoleAsset } from "./console.ts";
import { openApiDocument } from "./openapi.ts";
import {
  createRouter,
  type RouteHandler,
  type RouteHandlers,
  type RouteRequest,
} from "./router.ts";

export interface AdminApiDeps extends FailbackDeps {
  readonly config: ConfigService;
  readonly historyService: HistoryService;
  readonly admin: AdminAuth;
  /** Shown by /health. */
  readonly region: string;
  readonly logger: Logger;
  /** Full sync (R12): bulk reads/writes, and what starts the state machine (absent: 501). */
  readonly bulk: BulkStore;
  readonly fullSyncRunner?: RunStarter;
}

/** What a server shows before its web settings were ever saved: it always has some. */
export const WEB_DEFAULTS = { id: "web", enabled: false, port: 443 } as const;

/** Every answer: nothing sniffed, framed, or loaded from elsewhere (the console is same-origin). */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

const pageOf = ({ query }: RouteRequest) => ({
  limit: query.limit as number,
  ...(query.cursor ? { cursor: query.cursor as string } : {}),
});

/** The handlers of one entity kind: list, get, put (201 when created), delete (204). */
function crud<const B extends string, const I extends string>(
  config: ConfigService,
  type: entities.EntityType,
  base: B,
  idParam: I,
) {
  // The domain an item sits in (users, groups, services); a domain itself sits in none.
  const domainOf = ({ params }: RouteRequest) =>
    base.includes("{domain}") ? params.domain : undefined;
  const scope = (request: RouteRequest) => {
    const domain = domainOf(request);
    return { id: request.params[idParam] as string, ...(domain !== undefined ? { domain } : {}) };
  };
  const handlers: Record<string, RouteHandler> = {
    [`GET ${base}`]: async (request) =>
      json(200, await config.list(type, domainOf(request), pageOf(request))),
    [`GET ${base}/{${idParam}}`]: async (request) =>
      json(200, await config.get(type, scope(request))),
    [`PUT ${base}/{${idParam}}`]: async (request) => {
      const { item, created } = await config.put(type, scope(request), jsonBody(request.event));
      return json(created ? 201 : 200, item);
    },
    [`DELETE ${base}/{${idParam}}`]: async (request) => {
      await config.remove(type, scope(request));
      return { statusCode: 204 };
    },
  };
  return handlers as Record<
    `GET ${B}` | `GET ${B}/{${I}}` | `PUT ${B}/{${I}}` | `DELETE ${B}/{${I}}`,
    RouteHandler
  >;
}

/** A handler for each route of the table (./routes.ts): one missing does not compile. */
export function adminApiHandlers(deps: AdminApiDeps): RouteHandlers {
  const { config, failoverSettings } = deps;
  // When work must end for the answer to make API Gateway's 29 s.
  const deadlineOf = ({ event, context }: Pick<RouteRequest, "event" | "context">) =>
    answerDeadline(event.requestContext.timeEpoch, context.getRemainingTimeInMillis());
  // Calls to the failover end in time (R6).
  const bounded = (request: Pick<RouteRequest, "event" | "context">) =>
    withDeadline(deps, deadlineOf(request));
  const runState =
    (running: boolean) =>
    async ({ params }: RouteRequest) =>
      json(200, await config.setRunning(params.domain as string, running));
  const webScope = { id: "web" };
  const { historyService } = deps;
  const rewind = (domain: string | undefined, request: RouteRequest) => {
    const parsed = rewindInput.safeParse(jsonBody(request.event) ?? {});
    if (!parsed.success) throw fromZodError(parsed.error);
    return historyService.rewind(
      domain === undefined ? {} : { domain },
      parsed.data.at,
      parsed.data.dryRun,
      // A big rewind answers in time with what is left; run again, it goes on.
      deadlineOf(request),
    );
  };

  return {
    "GET /health": async () => json(200, { status: "ok", region: deps.region }),
    "GET /api/openapi.json": async () => json(200, openApiDocument()),
    "GET /": async () => consoleAsset("index.html"),
    "GET /console/{file}": async ({ params }) => consoleAsset(params.file as string),
    ...crud(config, entities.domains, "/api/domains", "domain"),
    ...crud(config, entities.users, "/api/domains/{domain}/users", "username"),
    ...crud(config, entities.groups, "/api/domains/{domain}/groups", "group"),
    ...crud(config, entities.services, "/api/domains/{domain}/services", "id"),
    ...crud(config, entities.triggers, "/api/triggers", "id"),
    "POST /api/domains/{domain}/start": runState(true),
    "POST /api/domains/{domain}/stop": runState(false),
    "GET /api/settings/web": async () => {
      try {
        return json(200, await config.get(entities.web, webScope));
      } catch (error) {
        if (error instanceof AppError && error.status === 404) return json(200, WEB_DEFAULTS);
        throw error;
      }
    },
    "PUT /api/settings/web": async ({ event }) => {
      const { item, created } = await config.put(entities.web, webScope, jsonBody(event));
      return json(created ? 201 : 200, item);
    },
    "GET /api/history": async (request) => {
      const { domain, since, until } = request.query as Record<string, string | number | undefined>;
      return json(
        200,
        await historyService.changes(domain === undefined ? {} : { domain: String(domain) }, {
          ...pageOf(request),
          ...(since !== undefined ? { since: Number(since) } : {}),
          ...(until !== undefined ? { until: Number(until) } : {}),
        }),
      );
    },
    "GET /api/domains/{domain}/snapshot": async ({ params, query }) =>
      json(200, await historyService.domainSnapshot(params.domain as string, query.at as number)),
    "GET /api/settings/snapshot": async ({ query }) =>
      json(200, await historyService.settingsSnapshot(query.at as number)),
    "POST /api/domains/{domain}/rewind": async (request) =>
      json(200, await rewind(request.params.domain as string, request)),
    "POST /api/settings/rewind": async (request) => json(200, await rewind(undefined, request)),
    "GET /api/failover": async () => json(200, await failoverSettings.view()),
    "PUT /api/failover": async (request) =>
      json(200, await sync.saveFailoverSettings(bounded(request), jsonBody(request.event))),
    "POST /api/failover/test": async (request) =>
      json(200, await sync.testConnection(bounded(request))),
    "GET /api/failover/status": async () => json(200, await sync.failoverStatus(deps)),
    "POST /api/failover/resume": async () => json(200, await sync.resumeSync(deps)),
    "GET /api/failover/drift": async (request) => json(200, await checkDrift(bounded(request))),
    "POST /api/failover/repair": async (request) => json(202, await repair(bounded(request))),
    "POST /api/failover/synchronize": async () => json(202, await fullSync.requestFullSync(deps)),
    "GET /api/failover/syncs/{syncId}": async ({ params }) =>
      json(200, await fullSync.fullSyncView(deps, params.syncId as string)),
    "DELETE /api/failover/fence": async () => json(200, await fullReceive.clearFence(deps)),
    // Disaster recovery: the failover takes over (R19a); production takes back (R19).
    "POST /api/failover/takeover": async ({ event }) =>
      json(200, await takeOver(deps, parseBasic(event.headers.authorization)?.username ?? "?")),
    "POST /api/failover/failback": async ({ event }) =>
      json(202, await requestFailback(deps, jsonBody(event))),
    "GET /api/failover/failbacks/{failbackId}": async ({ params }) =>
      json(200, await failbackView(deps, params.failbackId as string)),
    // The receiving side, called by the production server (R7, R8, R18).
    "GET /api/sync/hello": async () => json(200, await sync.hello(deps)),
    "POST /api/sync/events": async ({ event }) =>
      json(200, await sync.receiveChanges(deps, jsonBody(event))),
    // What verify reads of the failover (R21): partition digests, then the differing partitions.
    "POST /api/sync/digests": async ({ event }) =>
      json(200, await digestsPage(deps, jsonBody(event))),
    "POST /api/sync/records": async ({ event }) =>
      json(200, await recordsPage(deps, jsonBody(event))),
    // The receiving side of a full sync (R12), same credentials and R18 guard.
    "POST /api/sync/full/wipe": async ({ event }) =>
      json(200, await fullReceive.wipePage(deps, jsonBody(event))),
    "POST /api/sync/full/items": async ({ event }) =>
      json(200, await fullReceive.putItems(deps, jsonBody(event))),
    "POST /api/sync/full/digest": async ({ event }) =>
      json(200, await fullReceive.digestPage(deps, jsonBody(event))),
    "POST /api/sync/full/start": async ({ event }) =>
      json(200, await fullReceive.startPage(deps, jsonBody(event))),
  };
}

/** The admin API of one server (SPEC §8) as one API Gateway HTTP API (v2) handler. */
export function createAdminApi(deps: AdminApiDeps) {
  const router = createRouter(adminApiHandlers(deps));

  const handler = middy<HttpEvent, HttpResult>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .use(jsonErrors(deps.logger))
    .use(basicAuth(deps.admin, (event) => router.isPublic(event.requestContext.http.path)))
    .handler((event, context) => router.handle(event, context));
  return async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    const result = await handler(event, context);
    return { ...result, headers: { ...SECURITY_HEADERS, ...result.headers } };
  };
}
