import type { Logger } from "@aws-lambda-powertools/logger";
import type { MiddlewareObj } from "@middy/core";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import type { AdminAuth } from "../shared/auth/admin.ts";
import { AppError, invalid, unauthorized } from "../shared/errors.ts";
import type { Credentials } from "../shared/ports.ts";
import { PeerError } from "../shared/sync/peer.ts";

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;
/** A Lambda handler for API Gateway HTTP API (payload 2.0) events. */
export type HttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;
type HttpMiddleware = MiddlewareObj<HttpEvent, HttpResult>;

/** An AppError whose answer carries headers too (e.g. a 405's `Allow`). */
export class HttpError extends AppError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(status, code, message);
  }
}

export function json(statusCode: number, body: unknown): HttpResult {
  return {
    statusCode,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}

/** The request body as JSON; an empty body is `undefined`. */
export function jsonBody(event: HttpEvent): unknown {
  if (!event.body) return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString() : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw invalid("body", "is not valid JSON");
  }
}

/** A path parameter, URL-decoded. */
export function pathParam(event: HttpEvent, name: string): string {
  const value = event.pathParameters?.[name];
  if (value === undefined) throw invalid(name, "is required");
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalid(name, "is not valid percent-encoding");
  }
}

export function parseBasic(header: string | undefined): Credentials | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? "");
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString();
  const colon = decoded.indexOf(":");
  return colon < 0
    ? undefined
    : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Basic auth on every route but the public ones (SPEC §8). */
export function basicAuth(
  admin: AdminAuth,
  isPublic: (event: HttpEvent) => boolean,
): HttpMiddleware {
  return {
    before: async ({ event }) => {
      if (isPublic(event)) return;
      const given = parseBasic(event.headers.authorization);
      if (!given || !(await admin.accepts(given))) throw unauthorized();
    },
  };
}

/**
 * Every error becomes `{"error":{"code","message"}}`: AppErrors and middy's 4xx as they are, a
 * failed call to the failover as a 502 (504: no answer in time) naming the call, anything else
 * as a 500 whose details go to the log only, never to the caller.
 */
export function jsonErrors(logger: Logger): HttpMiddleware {
  return {
    onError: async (request) => {
      const error = request.error;
      if (error instanceof AppError) {
        request.response = json(error.status, {
          error: { code: error.code, message: error.message },
        });
        if (error instanceof HttpError) {
          request.response.headers = { ...request.response.headers, ...error.headers };
        }
        if (error.status === 401) {
          request.response.headers = {
            ...request.response.headers,
            "www-authenticate": 'Basic realm="mft"',
          };
        }
        return;
      }
      // The failover did not answer (in time): say which call, as a gateway would (502/504).
      if (error instanceof PeerError) {
        request.response = json(error.failure === "timeout" ? 504 : 502, {
          error: { code: `failover_${error.failure}`, message: error.message },
        });
        return;
      }
      const status = (error as { statusCode?: unknown } | null)?.statusCode;
      if (typeof status === "number" && status >= 400 && status < 500) {
        const code =
          status === 404 ? "not_found" : status === 405 ? "method_not_allowed" : "bad_request";
        const message = status === 404 ? "no such route" : "bad request";
        request.response = json(status, { error: { code, message } });
        return;
      }
      logger.error("unhandled error", error instanceof Error ? error : String(error));
      request.response = json(500, {
        error: { code: "internal_error", message: "internal error" },
      });
    },
  };
}
