import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerResult,
} from "aws-lambda";
import type { AdminAuth } from "../../shared/auth/admin.ts";
import { parseBasic } from "../http.ts";

export interface AuthorizerDeps {
  /** The admin check; a rejected promise means it cannot decide. */
  readonly admin: AdminAuth;
}

/**
 * The HTTP API's Lambda REQUEST authorizer (simple responses): `Authorization: Basic` must
 * carry the admin credentials (SPEC §8). Compared in constant time by the same code as the
 * admin API's own check. A missing or malformed header is refused without reading the secret;
 * a failed secret read throws, so API Gateway answers 500 rather than letting anyone in.
 */
export function createAuthorizer(deps: AuthorizerDeps) {
  return async (
    event: APIGatewayRequestAuthorizerEventV2,
  ): Promise<APIGatewaySimpleAuthorizerResult> => {
    const given = parseBasic(event.headers?.authorization);
    if (!given) return { isAuthorized: false };
    return { isAuthorized: await deps.admin.accepts(given) };
  };
}
