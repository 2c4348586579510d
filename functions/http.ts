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

/** Methods that change nothing: any page may make a browser send them (it cannot read the answer). */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The host of `origin` as `host` (`a.example` and `a.example:443` alike for https). */
function sameHost(origin: string, host: string | undefined): boolean {
  try {
    const from = new URL(origin);
    return host !== undefined && from.host === new URL(`${from.protocol}//${host}`).host;
  } catch {
    return false; // `Origin: null` (a sandboxed frame, a file) is no page of this API's.
  }
}

/**
 * What a page of another site could make a browser send with the Basic credentials it holds for
 * this API (issue 22.8), refused before anything runs, on every route, in the cloud and locally:
 * - a state-changing request (not GET/HEAD/OPTIONS) whose `Origin` is not this API's own
 *   (403). The console's calls carry its own origin; the CLI, the peer and scripts send none.
 * - a body that is not `application/json` (415): a form can send text/plain, urlencoded or
 *   multipart across sites, but JSON only after a CORS preflight, which this API never allows.
 */
export function refuseCrossSite(event: HttpEvent): void {
  const { origin, host } = event.headers;
  const method = event.requestContext.http.method;
  if (origin !== undefined && !SAFE_METHODS.has(method) && !sameHost(origin, host)) {
    throw new AppError(
      403,
      "forbidden",
      "origin: a page of another site may not change anything here",
    );
  }
  const mediaType = event.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (event.body && mediaType !== "application/json") {
    throw new AppError(415, "unsupported_media_type", "content-type: must be application/json");
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
 * A 401's challenge: Basic credentials, under a scheme name no browser answers with its own
 * sign-in dialog. A browser that did would keep the credentials for the origin and send them with
 * any request a page of another site makes to it (issue 22.8); the console signs in in the page.
 */
const CHALLENGE = 'MFT-Basic realm="mft-failover"';

/** `{"error":{"code","message"}}` with the error's headers (a 405's `Allow`, a 401's challenge). */
export function errorAnswer(error: AppError): HttpResult {
  const answer = json(error.status, { error: { code: error.code, message: error.message } });
  return {
    ...answer,
    headers: {
      ...answer.headers,
      ...(error instanceof HttpError ? error.headers : {}),
      ...(error.status === 401 ? { "www-authenticate": CHALLENGE } : {}),
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
        request.response = errorAnswer(error);
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
