import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import httpRouterHandler, { type Route } from "@middy/http-router";
import type { Context } from "aws-lambda";
import type { z } from "zod";
import type { AdminAuth } from "../../shared/auth/admin.ts";
import * as entities from "../../shared/config/entities.ts";
import type { ConfigService } from "../../shared/config/service.ts";
import { AppError, invalid } from "../../shared/errors.ts";
import { name, username } from "../../shared/model/schemas.ts";
import type { BulkStore, RunStarter } from "../../shared/ports.ts";
import { type FailbackDeps, failbackView, requestFailback } from "../../shared/sync/failback.ts";
import * as fullSync from "../../shared/sync/full/api.ts";
import * as fullReceive from "../../shared/sync/full/receive.ts";
import { checkDrift } from "../../shared/sync/monitor.ts";
import * as sync from "../../shared/sync/operations.ts";
import { withDeadline } from "../../shared/sync/peer.ts";
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
  pathParam,
} from "../http.ts";

export interface AdminApiDeps extends FailbackDeps {
  readonly config: ConfigService;
  readonly admin: AdminAuth;
  /** Shown by /health. */
  readonly region: string;
  readonly logger: Logger;
  /** Full sync (R12): bulk reads/writes, and what starts the state machine (absent: 501). */
  readonly bulk: BulkStore;
  readonly fullSyncRunner?: RunStarter;
}

type RouteHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

function param(event: HttpEvent, key: string, schema: z.ZodType<string>): string {
  const parsed = schema.safeParse(pathParam(event, key));
  if (!parsed.success) throw invalid(key, parsed.error.issues[0]?.message ?? "invalid");
  return parsed.data;
}

function pageOf(event: HttpEvent) {
  const query = event.queryStringParameters ?? {};
  const limit = query.limit === undefined ? DEFAULT_PAGE : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw invalid("limit", `must be an integer from 1 to ${MAX_PAGE}`);
  }
  return { limit, ...(query.cursor ? { cursor: query.cursor } : {}) };
}

/** The routes of one entity kind: list, get, put (201 when created), delete (204). */
function crud(
  config: ConfigService,
  type: entities.EntityType,
  base: string,
  idParam: string,
  idSchema: z.ZodType<string>,
): Route<HttpEvent, HttpResult>[] {
  const domainOf = (event: HttpEvent) =>
    base.includes("{domain}") ? param(event, "domain", name) : undefined;
  const scope = (event: HttpEvent) => {
    const domain = domainOf(event);
    return { id: param(event, idParam, idSchema), ...(domain !== undefined ? { domain } : {}) };
  };
  const one = `${base}/{${idParam}}`;
  const routes: [Route<HttpEvent, HttpResult>["method"], string, RouteHandler][] = [
    [
      "GET",
      base,
      async (event) => json(200, await config.list(type, domainOf(event), pageOf(event))),
    ],
    ["GET", one, async (event) => json(200, await config.get(type, scope(event)))],
    [
      "PUT",
      one,
      async (event) => {
        const { item, created } = await config.put(type, scope(event), jsonBody(event));
        return json(created ? 201 : 200, item);
      },
    ],
    [
      "DELETE",
      one,
      async (event) => {
        await config.remove(type, scope(event));
        return { statusCode: 204 };
      },
    ],
  ];
  return routes.map(([method, path, handler]) => ({ method, path, handler }));
}

/** The admin API of one server (SPEC §8) as one API Gateway HTTP API (v2) handler. */
export function createAdminApi(deps: AdminApiDeps) {
  const { config, failover } = deps;
  const route = (
    method: Route<HttpEvent, HttpResult>["method"],
    path: string,
    handler: RouteHandler,
  ) => ({
    method,
    path,
    handler,
  });
  // Calls to the failover end a second before this invocation would (API Gateway's 29 s).
  const bounded = (context: Context) =>
    withDeadline(deps, Date.now() + context.getRemainingTimeInMillis() - 1000);
  const runState = (running: boolean) => async (event: HttpEvent) =>
    json(200, await config.setRunning(param(event, "domain", name), running));
  const webScope = { id: "web" };

  const routes: Route<HttpEvent, HttpResult>[] = [
    route("GET", "/health", async () => json(200, { status: "ok", region: deps.region })),
    ...crud(config, entities.domains, "/api/domains", "domain", name),
    ...crud(config, entities.users, "/api/domains/{domain}/users", "username", username),
    ...crud(config, entities.groups, "/api/domains/{domain}/groups", "group", name),
    ...crud(config, entities.services, "/api/domains/{domain}/services", "id", name),
    ...crud(config, entities.triggers, "/api/triggers", "id", name),
    route("POST", "/api/domains/{domain}/start", runState(true)),
    route("POST", "/api/domains/{domain}/stop", runState(false)),
    route("GET", "/api/settings/web", async () =>
      json(200, await config.get(entities.web, webScope)),
    ),
    route("PUT", "/api/settings/web", async (event) => {
      const { item, created } = await config.put(entities.web, webScope, jsonBody(event));
      return json(created ? 201 : 200, item);
    }),
    route("GET", "/api/failover", async () => json(200, await failover.view())),
    route("PUT", "/api/failover", async (event, context) =>
      json(
        200,
        await failover.put(jsonBody(event), (settings, credentials) =>
          sync.checkAutoSync(bounded(context), settings, credentials),
        ),
      ),
    ),
    route("POST", "/api/failover/test", async (_event, context) =>
      json(200, await sync.testConnection(bounded(context))),
    ),
    route("GET", "/api/failover/status", async () => json(200, await sync.failoverStatus(deps))),
    route("POST", "/api/failover/resume", async () => json(200, await sync.resumeSync(deps))),
    route("GET", "/api/failover/drift", async (_event, context) =>
      json(200, await checkDrift(bounded(context))),
    ),
    route("POST", "/api/failover/repair", async (_event, context) =>
      json(202, await repair(bounded(context))),
    ),
    route("POST", "/api/failover/synchronize", async () =>
      json(202, await fullSync.requestFullSync(deps)),
    ),
    route("GET", "/api/failover/syncs/{syncId}", async (event) =>
      json(200, await fullSync.fullSyncView(deps, pathParam(event, "syncId"))),
    ),
    // Disaster recovery: the failover takes over (R19a); production takes back (R19).
    route("POST", "/api/failover/takeover", async (event) =>
      json(200, await takeOver(deps, parseBasic(event.headers.authorization)?.username ?? "?")),
    ),
    route("POST", "/api/failover/failback", async (event) =>
      json(202, await requestFailback(deps, jsonBody(event))),
    ),
    route("GET", "/api/failover/failbacks/{failbackId}", async (event) =>
      json(200, await failbackView(deps, pathParam(event, "failbackId"))),
    ),
    // The receiving side, called by the production server (R7, R8, R18).
    route("GET", "/api/sync/hello", async () => json(200, await sync.hello(deps))),
    route("POST", "/api/sync/events", async (event) =>
      json(200, await sync.receiveChanges(deps, jsonBody(event))),
    ),
    // What verify reads of the failover (R21): partition digests, then the differing partitions.
    route("POST", "/api/sync/digests", async (event) =>
      json(200, await digestsPage(deps, jsonBody(event))),
    ),
    route("POST", "/api/sync/records", async (event) =>
      json(200, await recordsPage(deps, jsonBody(event))),
    ),
    // The receiving side of a full sync (R12), same credentials and R18 guard.
    route("POST", "/api/sync/full/wipe", async (event) =>
      json(200, await fullReceive.wipePage(deps, jsonBody(event))),
    ),
    route("POST", "/api/sync/full/items", async (event) =>
      json(200, await fullReceive.putItems(deps, jsonBody(event))),
    ),
    route("POST", "/api/sync/full/digest", async (event) =>
      json(200, await fullReceive.digestPage(deps, jsonBody(event))),
    ),
    route("POST", "/api/sync/full/start", async (event) =>
      json(200, await fullReceive.startPage(deps, jsonBody(event))),
    ),
  ];

  return middy<HttpEvent, HttpResult>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .use(jsonErrors(deps.logger))
    .use(basicAuth(deps.admin, (event) => event.rawPath === "/health"))
    .handler(httpRouterHandler({ routes, notFoundResponse: notFound }));
}

function notFound({ method, path }: { method: string; path: string }): never {
  throw new AppError(404, "not_found", `no route ${method} ${path}`);
}
