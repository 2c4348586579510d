import { type HttpHandler, json, parseBasic } from "../../functions/http.ts";
import { credentialsMatch } from "../../shared/auth/admin.ts";
import type { Credentials } from "../../shared/ports.ts";

/**
 * Local mode only: `POST /_local/regions/{name}/offline|online` takes a region's admin API down
 * (its port refuses connections, as a dead server's would) and brings it back, so that a
 * failover outage can be tried on one machine.
 */
export function withRegionControl(
  next: HttpHandler,
  admin: Credentials,
  setOnline: (region: string, online: boolean) => Promise<boolean>,
): HttpHandler {
  return async (event, context) => {
    const match = /^\/_local\/regions\/([a-z]+)\/(online|offline)$/.exec(event.rawPath);
    if (!match?.[1] || event.requestContext.http.method !== "POST") return next(event, context);
    const given = parseBasic(event.headers.authorization);
    if (!given || !credentialsMatch(given, admin)) {
      return json(401, {
        error: { code: "unauthorized", message: "valid Basic credentials are required" },
      });
    }
    const online = match[2] === "online";
    if (!(await setOnline(match[1], online))) {
      return json(404, { error: { code: "not_found", message: `region ${match[1]} not found` } });
    }
    return json(200, { region: match[1], online });
  };
}
