import { z } from "zod";
import {
  domainInput,
  failoverSettingsInput,
  groupInput,
  moment,
  name,
  rewindInput,
  serviceInput,
  triggerInput,
  userInput,
  username,
  webSettingsInput,
} from "../../shared/model/schemas.ts";
import * as res from "./responses.ts";

/**
 * Every route of the admin API (SPEC §8) as data, the one source the router
 * (functions/admin-api/app.ts: a handler per key, or it does not compile), API Gateway
 * (infra/cloud/constructs/api.ts) and the OpenAPI document (./openapi.ts) are built from.
 */
export type Method = "GET" | "PUT" | "POST" | "DELETE";

export interface RouteSpec {
  /** `public`: no credentials (API Gateway has no authorizer on it); `admin`: Basic auth. */
  readonly auth: "public" | "admin";
  readonly summary: string;
  /** The OpenAPI tag: the console's page or the API's area. */
  readonly tag: string;
  /** Path parameters, validated (URL-decoded) before the handler runs. */
  readonly params?: z.ZodObject;
  /** Query parameters, validated before the handler runs; unknown ones are ignored. */
  readonly query?: z.ZodObject;
  /** The body the handler validates with (in the domain code), documented as is. */
  readonly body?: z.ZodType;
  /** The status of a successful answer. */
  readonly status: number;
  /** A PUT that answers 201 instead of `status` when it created the item. */
  readonly created?: true;
  /** Its body (absent: none, e.g. 204). */
  readonly response?: z.ZodType;
  /** @default "application/json" */
  readonly mediaType?: string;
  /**
   * The 404 and 409 it answers, and a 400 of a route without input: when (the OpenAPI
   * document declares them; a route with input answers 400 anyway).
   */
  readonly errors?: { readonly 400?: string; readonly 404?: string; readonly 409?: string };
}

/** The peer's calls: each a JSON body the receiving code validates (shared/sync/...). */
const peerBody = z.looseObject({}).meta({
  description: "The peer protocol's request (SYNC_PROTOCOL), sent by the peer server only",
});

const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;
const pageQuery = z.object({
  limit: z.coerce
    .number({ error: `must be an integer from 1 to ${MAX_PAGE}` })
    .int({ error: `must be an integer from 1 to ${MAX_PAGE}` })
    .min(1, { error: `must be an integer from 1 to ${MAX_PAGE}` })
    .max(MAX_PAGE, { error: `must be an integer from 1 to ${MAX_PAGE}` })
    .default(DEFAULT_PAGE),
  /** `nextCursor` of the previous page; empty is the first page. */
  cursor: z.string().optional(),
});

type CrudKeys<B extends string, I extends string> =
  | `GET ${B}`
  | `GET ${B}/{${I}}`
  | `PUT ${B}/{${I}}`
  | `DELETE ${B}/{${I}}`;

/** The routes of one entity kind: list, get, put (201 when created), delete (204). */
function crud<const B extends string, const I extends string>(
  tag: string,
  label: string,
  base: B,
  id: { readonly name: I; readonly schema: z.ZodType<string> },
  body: z.ZodType,
  item: z.ZodType,
): Record<CrudKeys<B, I>, RouteSpec> {
  const inDomain = base.includes("{domain}") ? { domain: name } : {};
  const listParams = z.strictObject(inDomain);
  const params = z.strictObject({ ...inDomain, [id.name]: id.schema });
  const auth = "admin";
  return {
    [`GET ${base}`]: {
      auth,
      tag,
      summary: `List the ${label}s, a page at a time`,
      ...(base.includes("{") ? { params: listParams } : {}),
      query: pageQuery,
      status: 200,
      response: res.page(item),
    },
    [`GET ${base}/{${id.name}}`]: {
      auth,
      tag,
      summary: `Read one ${label}`,
      params,
      status: 200,
      response: item,
      errors: { 404: `No such ${label}` },
    },
    [`PUT ${base}/{${id.name}}`]: {
      auth,
      tag,
      summary: `Create or replace a ${label} (201 when created; with \`version\`, only over that version)`,
      params,
      body,
      status: 200,
      created: true,
      response: item,
      errors: {
        ...(base.includes("{domain}") ? { 404: "No such domain" } : {}),
        409: "`version` is not the stored one, or the item changed meanwhile",
      },
    },
    [`DELETE ${base}/{${id.name}}`]: {
      auth,
      tag,
      summary: `Delete a ${label}`,
      params,
      status: 204,
      errors: { 404: `No such ${label}`, 409: "The item changed meanwhile" },
    },
  } as Record<CrudKeys<B, I>, RouteSpec>;
}

const domainParam = z.strictObject({ domain: name });
const noBody = undefined;
const momentQuery = z.object({ at: moment });

export const ROUTES = {
  "GET /health": {
    auth: "public",
    tag: "server",
    summary: "Liveness and region (for load balancers and uptime checks)",
    status: 200,
    response: res.health,
  },
  "GET /api/openapi.json": {
    auth: "public",
    tag: "server",
    summary: "This document: OpenAPI 3.1, generated from the route table",
    status: 200,
  },
  "GET /": {
    auth: "public",
    tag: "console",
    summary: "The web console (sign-in happens in the page)",
    status: 200,
    mediaType: "text/html",
  },
  "GET /console/{file}": {
    auth: "public",
    tag: "console",
    summary: "The web console's static assets (script, style sheet)",
    params: z.strictObject({ file: z.string().regex(/^[a-z0-9-]+\.(js|css|js\.map)$/) }),
    status: 200,
    mediaType: "text/plain",
  },
  ...crud(
    "domains",
    "domain",
    "/api/domains",
    { name: "domain", schema: name },
    domainInput,
    res.domain,
  ),
  ...crud(
    "domains",
    "user",
    "/api/domains/{domain}/users",
    { name: "username", schema: username },
    userInput,
    res.user,
  ),
  ...crud(
    "domains",
    "group",
    "/api/domains/{domain}/groups",
    { name: "group", schema: name },
    groupInput,
    res.group,
  ),
  ...crud(
    "domains",
    "service",
    "/api/domains/{domain}/services",
    { name: "id", schema: name },
    serviceInput,
    res.service,
  ),
  ...crud(
    "triggers",
    "trigger",
    "/api/triggers",
    { name: "id", schema: name },
    triggerInput,
    res.trigger,
  ),
  "POST /api/domains/{domain}/start": {
    auth: "admin",
    tag: "domains",
    summary: "Start a domain (run state, R2: local, never synchronized)",
    params: domainParam,
    status: 200,
    response: res.domain,
    errors: { 404: "No such domain" },
  },
  "POST /api/domains/{domain}/stop": {
    auth: "admin",
    tag: "domains",
    summary: "Stop a domain (run state, R2)",
    params: domainParam,
    status: 200,
    response: res.domain,
    errors: { 404: "No such domain" },
  },
  "GET /api/settings/web": {
    auth: "admin",
    tag: "settings",
    summary: "The web settings (the defaults until first saved)",
    status: 200,
    response: res.webSettings,
  },
  "PUT /api/settings/web": {
    auth: "admin",
    tag: "settings",
    summary: "Replace the web settings (201 the first time)",
    body: webSettingsInput,
    status: 200,
    created: true,
    response: res.webSettings,
  },
  // Rewind (R26): what changed, the state at a moment, and back to it.
  "GET /api/history": {
    auth: "admin",
    tag: "history",
    summary:
      "A domain's changes (the server scope's without `domain`) in a time range, newest first",
    query: pageQuery.extend({
      domain: name.optional(),
      since: moment.optional(),
      until: moment.optional(),
    }),
    status: 200,
    response: res.history,
  },
  "GET /api/domains/{domain}/snapshot": {
    auth: "admin",
    tag: "history",
    summary: "A domain as it was at `at`: its users, groups and services (secrets never shown)",
    params: domainParam,
    query: momentQuery,
    status: 200,
    response: res.domainSnapshot,
    errors: { 404: "The domain had no items in the retention period" },
  },
  "GET /api/settings/snapshot": {
    auth: "admin",
    tag: "history",
    summary: "The web settings and triggers as they were at `at`",
    query: momentQuery,
    status: 200,
    response: res.settingsSnapshot,
  },
  "POST /api/domains/{domain}/rewind": {
    auth: "admin",
    tag: "history",
    summary:
      "Put a domain back as it was at `at` (dryRun: only say what would change); sync carries it",
    params: domainParam,
    body: rewindInput,
    status: 200,
    response: res.rewind,
    errors: { 404: "The domain had no items in the retention period" },
  },
  "POST /api/settings/rewind": {
    auth: "admin",
    tag: "history",
    summary: "Put the web settings and triggers back as they were at `at` (dryRun first)",
    body: rewindInput,
    status: 200,
    response: res.rewind,
  },
  "GET /api/failover": {
    auth: "admin",
    tag: "failover",
    summary: "The failover settings (R5); the password shows only as passwordSet",
    status: 200,
    response: res.failoverSettings,
  },
  "PUT /api/failover": {
    auth: "admin",
    tag: "failover",
    summary: "Replace the failover settings (R5), validated whole before anything is saved",
    body: failoverSettingsInput,
    status: 200,
    response: res.failoverSettings,
  },
  "POST /api/failover/test": {
    auth: "admin",
    tag: "failover",
    summary: "Test the connection to the failover (R6): which step failed, if one did",
    body: noBody,
    status: 200,
    errors: { 400: "No failover is configured, or no credentials for it" },
    response: res.connectionTest,
  },
  "GET /api/failover/status": {
    auth: "admin",
    tag: "status",
    summary: "Module and sync state, connection, heartbeat, queue, lag, last events (R20)",
    status: 200,
    response: res.status,
  },
  "POST /api/failover/resume": {
    auth: "admin",
    tag: "status",
    summary: "Resume a suspended automatic sync (R9); answers the status",
    status: 200,
    errors: { 409: "Automatic sync is off" },
    response: res.status,
  },
  "GET /api/failover/drift": {
    auth: "admin",
    tag: "drift",
    summary: "Verify: compare this server with its failover (R21)",
    status: 200,
    errors: { 400: "No failover is configured, or no credentials for it" },
    response: res.drift,
  },
  "POST /api/failover/repair": {
    auth: "admin",
    tag: "drift",
    summary: "Repair: send what differs to the failover again (R21)",
    status: 202,
    errors: { 400: "No failover is configured, or no credentials for it" },
    response: res.repair,
  },
  "POST /api/failover/synchronize": {
    auth: "admin",
    tag: "failover",
    summary: "Start a full sync (R12); only while automatic sync is off",
    status: 202,
    errors: {
      400: "No failover is configured, or no credentials for it",
      409: "Automatic sync is on, or a run holds the lock",
    },
    response: res.syncStarted,
  },
  "GET /api/failover/syncs/{syncId}": {
    auth: "admin",
    tag: "failover",
    summary: "A full sync's state, step, progress and result",
    params: z.strictObject({ syncId: z.string() }),
    status: 200,
    response: res.fullSync,
    errors: { 404: "No such full sync" },
  },
  "DELETE /api/failover/fence": {
    auth: "admin",
    tag: "failover",
    summary:
      "Clear the full-sync fence this server keeps, so a full sync to it refused as overtaken (409) is taken again",
    status: 200,
    response: res.fenceCleared,
  },
  "POST /api/failover/takeover": {
    auth: "admin",
    tag: "recovery",
    summary: "On the failover: take over from a lost production (R19a)",
    status: 200,
    response: res.takeover,
  },
  "POST /api/failover/failback": {
    auth: "admin",
    tag: "recovery",
    summary: "On the failover: hand service back to production (R19)",
    body: z.looseObject({}).meta({
      description:
        "`{}` (production as configured) or `{production: {host, port, useTls, username, password}}`; `{resume: <failbackId>}` resumes a failed one",
    }),
    status: 202,
    response: z.looseObject({ failbackId: z.string() }),
    errors: {
      404: "No such failback to resume",
      409: "A failback is running, or the one to resume succeeded or points elsewhere now",
    },
  },
  "GET /api/failover/failbacks/{failbackId}": {
    auth: "admin",
    tag: "recovery",
    summary: "A failback's steps and state",
    params: z.strictObject({ failbackId: z.string() }),
    status: 200,
    response: res.failback,
    errors: { 404: "No such failback" },
  },
  "GET /api/sync/hello": {
    auth: "admin",
    tag: "peer",
    summary: "Peer: who this server is (test connection, loop check)",
    status: 200,
    response: res.peer.hello,
  },
  "POST /api/sync/events": {
    auth: "admin",
    tag: "peer",
    summary: "Peer: apply a batch of changes (R7, R8, R18)",
    body: peerBody,
    status: 200,
    response: res.peer.answer,
  },
  "POST /api/sync/digests": {
    auth: "admin",
    tag: "peer",
    summary: "Peer: partition digests for verify (R21)",
    body: peerBody,
    status: 200,
    response: res.peer.answer,
  },
  "POST /api/sync/records": {
    auth: "admin",
    tag: "peer",
    summary: "Peer: the records of differing partitions (R21)",
    body: peerBody,
    status: 200,
    response: res.peer.answer,
  },
  "POST /api/sync/full/wipe": {
    auth: "admin",
    tag: "peer",
    summary: "Peer: full sync, delete a page of this server's records (R12)",
    body: peerBody,
    status: 200,
    response: res.peer.answer,
  },
  "POST /api/sync/full/items": {
    auth: "admin",
    tag: "peer",
    summary: "Peer: full sync, write a page of items (R12)",
    body: peerBody,
    status: 200,
    response: res.peer.answer,
  },
  "POST /api/sync/full/digest": {
    auth: "admin",
    tag: "peer",
    summary: "Peer: full sync, digest a segment page (R12)",
    body: peerBody,
    status: 200,
    response: res.peer.answer,
  },
  "POST /api/sync/full/start": {
    auth: "admin",
    tag: "peer",
    summary: "Peer: full sync, start the copied domains (R12)",
    body: peerBody,
    status: 200,
    response: res.peer.answer,
  },
} satisfies Record<string, RouteSpec>;

export type RouteKey = keyof typeof ROUTES;

export interface TableRoute extends RouteSpec {
  readonly key: RouteKey;
  readonly method: Method;
  readonly path: string;
}

export function parseRouteKey(key: string): { method: string; path: string } {
  const [method, path, extra] = key.split(" ");
  if (!method || !path || extra !== undefined) throw new Error(`not a route key: ${key}`);
  return { method, path };
}

/** The table as a list, each route with its method and path. */
export function routeList(): TableRoute[] {
  return Object.entries(ROUTES).map(([key, spec]) => {
    const { method, path } = parseRouteKey(key);
    if (spec.auth === "public" && method !== "GET")
      throw new Error(`${key}: a public route is a GET`);
    return { ...(spec as RouteSpec), key: key as RouteKey, method: method as Method, path };
  });
}

/**
 * The methods a route is answered to: its own, and for a public GET also HEAD (its headers, no
 * body). Nothing else reaches the admin function on a public path without credentials: API
 * Gateway has no `ANY` (405) route there.
 */
export function methodsOf(route: TableRoute): ReadonlyArray<Method | "HEAD"> {
  return route.auth === "public" ? [route.method, "HEAD"] : [route.method];
}
