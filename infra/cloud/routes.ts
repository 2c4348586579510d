import { type Method, methodsOf, routeList } from "../../functions/admin-api/routes.ts";

/**
 * API Gateway's routes, derived from the admin API's route table
 * (functions/admin-api/routes.ts), all integrated with the admin-api Lambda. Explicit routes
 * rather than one `$default`/proxy route: an unknown path is refused by API Gateway without
 * invoking anything, and the authorizer is visibly on each. Besides each route of the table
 * (a public GET's HEAD too), one `ANY` route per admin path lets the Lambda answer a method the
 * path does not have with 405 and `Allow` (API Gateway prefers the route with the exact
 * method). A public path has none: its other methods would reach the Lambda without
 * credentials, so API Gateway refuses them itself (404).
 */
export interface GatewayRoute {
  /** `METHOD /path`, API Gateway's route key. */
  readonly key: string;
  readonly method: Method | "HEAD" | "ANY";
  readonly path: string;
  /** `public`: no authorizer. */
  readonly auth: "public" | "admin";
}

export function gatewayRoutes(): GatewayRoute[] {
  const routes = routeList().flatMap((route) =>
    methodsOf(route).map((method) => ({
      key: `${method} ${route.path}`,
      method,
      path: route.path,
      auth: route.auth,
    })),
  );
  const authOf = new Map<string, "public" | "admin">();
  for (const route of routes) {
    const seen = authOf.get(route.path);
    // A path cannot be both public and behind the authorizer.
    if (seen && seen !== route.auth) throw new Error(`${route.path} mixes public and admin routes`);
    authOf.set(route.path, route.auth);
  }
  const methodNotAllowed = [...authOf]
    .filter(([, auth]) => auth === "admin")
    .map(([path, auth]) => ({ key: `ANY ${path}`, method: "ANY" as const, path, auth }));
  return [...routes, ...methodNotAllowed];
}
