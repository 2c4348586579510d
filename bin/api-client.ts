import type { IncomingMessage, RequestOptions } from "node:http";
import type { Credentials } from "../shared/ports.ts";

/** An error answer of the admin API, `{"error":{"code","message"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** No answer at all from `url`: refused, unknown host, reset, timed out. */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    /** The system's word for it (ECONNREFUSED, ENOTFOUND, …) when there is one. */
    readonly reason: string,
  ) {
    super(`cannot reach ${url} (${reason})`);
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "the host name could not be resolved now",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "timed out",
  UND_ERR_CONNECT_TIMEOUT: "timed out connecting",
  EHOSTUNREACH: "no route to the host",
};

/** A small client of the admin API (SPEC §8) for the CLI and the tests. */
export class AdminClient {
  private readonly authorization: string;

  constructor(
    readonly baseUrl: string,
    credentials: Credentials,
  ) {
    this.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
  }

  /**
   * Sends a request; resolves to the JSON answer (undefined for 204), rejects with ApiError, or
   * with UnreachableError when nothing answers.
   */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.baseUrl);
    const payloadText = body !== undefined ? JSON.stringify(body) : undefined;
    const response = await send(
      url,
      method,
      {
        authorization: this.authorization,
        ...(payloadText !== undefined
          ? {
              "content-type": "application/json",
              "content-length": String(Buffer.byteLength(payloadText)),
            }
          : {}),
      },
      payloadText,
    );
    const text = response.text;
    let payload: unknown;
    try {
      payload = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(
        response.status,
        "not_json",
        `${url.origin} answered ${response.status} with something other than JSON: is it the admin API?`,
      );
    }
    if (response.status >= 400) {
      const error = (payload as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(
        response.status,
        error?.code ?? "http_error",
        error?.message ?? `HTTP ${response.status}`,
      );
    }
    return payload as T;
  }
}

/** How long a connection may take to open before the server counts as unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * One HTTP exchange over node:http(s), not fetch: loading fetch (undici) costs a CLI call about
 * 100 ms of its start-up. Rejects with UnreachableError when no connection is made.
 */
async function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; text: string }> {
  const { request } =
    url.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
    const options: RequestOptions = { method, headers };
    const outgoing = request(url, options, (incoming: IncomingMessage) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("error", reject);
      incoming.on("end", () =>
        resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    let connected = false;
    const timer = setTimeout(() => {
      outgoing.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" }));
    }, CONNECT_TIMEOUT_MS);
    outgoing.on("socket", (socket) => {
      const opened = () => {
        connected = true;
        clearTimeout(timer);
      };
      if (socket.connecting) socket.once("connect", opened);
      else opened();
    });
    outgoing.on("error", (error: Error & { code?: string }) => {
      clearTimeout(timer);
      const code = error.code ?? "";
      reject(
        connected
          ? error
          : new UnreachableError(url.origin, REASONS[code] ?? (code || error.message)),
      );
    });
    outgoing.end(body);
  });
}
