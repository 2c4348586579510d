/**
 * Every route of the admin API (SPEC §8) as API Gateway route keys, all integrated with the
 * admin-api Lambda. Explicit routes rather than one `$default`/proxy route: an unknown path is
 * refused by API Gateway without invoking anything, and the authorizer is visibly on each.
 */
export const PUBLIC_ROUTES = ["GET /health"] as const;

export const ADMIN_ROUTES = [
  "GET /api/domains",
  "GET /api/domains/{domain}",
  "PUT /api/domains/{domain}",
  "DELETE /api/domains/{domain}",
  "GET /api/domains/{domain}/users",
  "GET /api/domains/{domain}/users/{username}",
  "PUT /api/domains/{domain}/users/{username}",
  "DELETE /api/domains/{domain}/users/{username}",
  "GET /api/domains/{domain}/services",
  "GET /api/domains/{domain}/services/{id}",
  "PUT /api/domains/{domain}/services/{id}",
  "DELETE /api/domains/{domain}/services/{id}",
  "GET /api/domains/{domain}/groups",
  "GET /api/domains/{domain}/groups/{group}",
  "PUT /api/domains/{domain}/groups/{group}",
  "DELETE /api/domains/{domain}/groups/{group}",
  "POST /api/domains/{domain}/start",
  "POST /api/domains/{domain}/stop",
  "GET /api/settings/web",
  "PUT /api/settings/web",
  "GET /api/triggers",
  "GET /api/triggers/{id}",
  "PUT /api/triggers/{id}",
  "DELETE /api/triggers/{id}",
  "GET /api/failover",
  "PUT /api/failover",
  "POST /api/failover/test",
  "POST /api/failover/synchronize",
  "GET /api/failover/syncs/{syncId}",
  "GET /api/failover/status",
  "POST /api/failover/resume",
  "GET /api/failover/drift",
  "POST /api/failover/repair",
  "POST /api/failover/takeover",
  "POST /api/failover/failback",
  "GET /api/failover/failbacks/{failbackId}",
  // The receiving side, called by the peer only (with the admin credentials of this server).
  "POST /api/sync/events",
  "ANY /api/sync/{proxy+}",
] as const;

export type RouteKey = (typeof PUBLIC_ROUTES)[number] | (typeof ADMIN_ROUTES)[number];

export function parseRouteKey(key: string): { method: string; path: string } {
  const [method, path] = key.split(" ");
  if (!method || !path) throw new Error(`not a route key: ${key}`);
  return { method, path };
}
