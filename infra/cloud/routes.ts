import { type Method, methodsByPath, routeList } from "../../functions/admin-api/routes.ts";

/**
 * API Gateway's routes, derived from the admin API's route table
 * (functions/admin-api/routes.ts), all integrated with the admin-api Lambda. Explicit routes
 * rather than one `$default`/proxy route: an unknown path is refused by API Gateway without
 * invoking anything, and the authorizer is visibly on each. Besides each route of the table,
 * one `ANY` route per path lets the Lambda answer a method the path does not have with 405 and
 * `Allow` (API Gateway prefers the route with the exact method).
 */
export interface GatewayRoute {
  /** `METHOD /path`, API Gateway's route key. */
  readonly key: string;
  readonly method: Method | "ANY";
  readonly path: string;
  /** `public`: no authorizer. */
  readonly auth: "public" | "admin";
}

export function gatewayRoutes(): GatewayRoute[] {
  const routes = routeList().map(({ key, method, path, auth }) => ({ key, method, path, auth }));
  const authOf = new Map<string, "public" | "admin">();
  for (const route of routes) {
    const seen = authOf.get(route.path);
    // A 405 route cannot be both public and behind the authorizer.
    if (seen && seen !== route.auth) throw new Error(`${route.path} mixes public and admin routes`);
    authOf.set(route.path, route.auth);
  }
  const methodNotAllowed = [...methodsByPath().keys()].map((path) => ({
    key: `ANY ${path}`,
    method: "ANY" as const,
    path,
    auth: authOf.get(path) ?? "admin",
  }));
  return [...routes, ...methodNotAllowed];
}
