import type { Context } from "aws-lambda";
import type { z } from "zod";
import { AppError, fromZodError, invalid } from "../../shared/errors.ts";
import { HttpError, type HttpEvent, type HttpResult, refuseCrossSite } from "../http.ts";
import { methodsOf, type RouteKey, routeList, type TableRoute } from "./routes.ts";

/** What a handler gets: the event, and its path and query parameters validated by the table. */
export interface RouteRequest {
  readonly event: HttpEvent;
  readonly context: Context;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
}
export type RouteHandler = (request: RouteRequest) => Promise<HttpResult>;
/** One handler per route of the table: a route without one does not compile. */
export type RouteHandlers = { readonly [K in RouteKey]: RouteHandler };

interface CompiledPath {
  readonly path: string;
  readonly pattern: RegExp;
  /** By the methods each route is answered to (a public GET's HEAD too). */
  readonly routes: ReadonlyMap<string, TableRoute>;
}

/** `/api/domains/{domain}` → `^/api/domains/(?<domain>[^/]+)/?$` (a trailing slash is optional). */
function compile(path: string): RegExp {
  const body = path
    .replace(/[.*+?^$()|[\]\\]/g, "\\$&")
    .replace(/\{([A-Za-z]+)\}/g, (_match, param: string) => `(?<${param}>[^/]+)`);
  return new RegExp(path === "/" ? "^/$" : `^${body}/?$`);
}

function compilePaths(): CompiledPath[] {
  const byPath = new Map<string, Map<string, TableRoute>>();
  for (const route of routeList()) {
    const routes = byPath.get(route.path) ?? new Map<string, TableRoute>();
    for (const method of methodsOf(route)) routes.set(method, route);
    byPath.set(route.path, routes);
  }
  // Literal paths first, so a parameter never shadows one.
  return [...byPath.entries()]
    .map(([path, routes]) => ({ path, pattern: compile(path), routes }))
    .sort((a, b) => Number(a.path.includes("{")) - Number(b.path.includes("{")));
}

function validated(schema: z.ZodType | undefined, value: unknown): Record<string, unknown> {
  if (!schema) return {};
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data as Record<string, unknown>;
}

function decoded(raw: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    try {
      out[key] = decodeURIComponent(value);
    } catch {
      throw invalid(key, "is not valid percent-encoding");
    }
  }
  return out;
}

/**
 * The admin API's router, built from the route table: a path the table has with a method it
 * has not is a 405 with `Allow` (both locally and behind API Gateway, which declares an `ANY`
 * route per admin path for that; on a public path API Gateway refuses the other methods
 * itself), a path it has not is a 404. A public GET answers HEAD too, without its body.
 */
export function createRouter(handlers: RouteHandlers) {
  const paths = compilePaths();
  const find = (path: string) => {
    for (const candidate of paths) {
      const match = candidate.pattern.exec(path);
      if (match) return { candidate, groups: match.groups ?? {} };
    }
    return undefined;
  };
  return {
    /** Whether the path is one of the table's public ones (no credentials asked). */
    isPublic(path: string): boolean {
      const found = find(path);
      return (
        found !== undefined &&
        [...found.candidate.routes.values()].every((r) => r.auth === "public")
      );
    },
    async handle(event: HttpEvent, context: Context): Promise<HttpResult> {
      const method = event.requestContext.http.method;
      const path = event.requestContext.http.path;
      const found = find(path);
      if (!found) throw new AppError(404, "not_found", `no route ${method} ${path}`);
      const route = found.candidate.routes.get(method);
      if (!route) {
        const allow = [...found.candidate.routes.keys()].join(", ");
        throw new HttpError(
          405,
          "method_not_allowed",
          `${method} is not allowed here; use ${allow}`,
          {
            allow,
          },
        );
      }
      refuseCrossSite(event);
      // API Gateway's own parameters win over the match.
      const params = validated(route.params, decoded({ ...found.groups, ...event.pathParameters }));
      const query = validated(route.query, event.queryStringParameters ?? {});
      const result = await handlers[route.key]({
        event,
        context,
        params: params as Record<string, string>,
        query,
      });
      return method === "HEAD" ? { ...result, body: undefined } : result;
    },
  };
}
