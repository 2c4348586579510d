import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { HttpHandler } from "../../functions/http.ts";
import { LocalStartupError } from "./dynamodb-local.ts";
import { lambdaContext } from "./lambda-context.ts";

/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface HttpApi {
  readonly url: string;
  /** Offline, the port refuses connections as a stopped server's would; online, it serves again. */
  setOnline(online: boolean): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Plays API Gateway (HTTP API, payload format 2.0) on 127.0.0.1: each request becomes the
 * event Lambda would get, and the handler's result becomes the response.
 */
export async function serveHttpApi(options: {
  readonly port: number;
  readonly functionName: string;
  /** Built once the port is bound, from the URL the API is served at (it may name itself). */
  readonly handlerAt: (url: string) => HttpHandler;
}): Promise<HttpApi> {
  let handler: HttpHandler = () => Promise.reject(new Error("not listening yet"));
  const server: Server = createServer(async (request, response) => {
    try {
      const body = await readBody(request);
      if (body === undefined) {
        response.writeHead(413, { "content-type": "application/json" });
        response.end(
          JSON.stringify({ error: { code: "payload_too_large", message: "body over 10 MB" } }),
        );
        return;
      }
      const result = await handler(toEvent(request, body), lambdaContext(options.functionName));
      response.writeHead(
        result.statusCode ?? 200,
        result.headers as Record<string, string> | undefined,
      );
      response.end(
        result.isBase64Encoded && result.body ? Buffer.from(result.body, "base64") : result.body,
      );
    } catch {
      // API Gateway answers 500 when the integration fails; the handler logs the details.
      response.writeHead(500, { "content-type": "application/json" });
      response.end(
        JSON.stringify({ error: { code: "internal_error", message: "internal error" } }),
      );
    }
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          error.code === "EADDRINUSE"
            ? new LocalStartupError(`port ${port} is already in use (${options.functionName})`)
            : error,
        ),
      );
      server.listen(port, "127.0.0.1", () => resolve());
    });
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  await listen(options.port);
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  handler = options.handlerAt(url);
  return {
    url,
    setOnline: (online) =>
      online ? (server.listening ? Promise.resolve() : listen(port)) : close(),
    stop: close,
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function toEvent(request: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  // Prefixed, not resolved: `//x` is a path here, not a protocol-relative URL.
  const raw = request.url ?? "/";
  const url = new URL(raw.startsWith("/") ? `http://127.0.0.1${raw}` : raw, "http://127.0.0.1");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = query[name] ? `${query[name]},${value}` : value;
  const now = new Date();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "127.0.0.1",
      domainPrefix: "local",
      http: {
        method: request.method ?? "GET",
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: body.toString("utf8") } : {}),
    isBase64Encoded: false,
  };
}
