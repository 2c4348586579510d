import type { FailoverSettings } from "../model/schemas.ts";
import type { Credentials, PeerClient, PeerHello, PeerResult } from "../ports.ts";
import { PeerError, SYNC_PROTOCOL } from "../sync/peer.ts";

type Target = Pick<FailoverSettings, "host" | "port" | "useTls" | "timeoutMs">;

/**
 * The failover's admin API over HTTPS (plain http only to loopback, R5). Each call ends within
 * timeoutMs, and before `deadline` (epoch ms) when one is given: the caller's own time limit
 * (a Lambda's remaining time), so a hung peer never outlasts the function that called it.
 */
export class HttpPeerClient implements PeerClient {
  private readonly baseUrl: string;
  private readonly authorization: string;

  constructor(
    private readonly target: Target,
    credentials: Credentials,
    private readonly deadline?: number,
  ) {
    const host = target.host?.includes(":") ? `[${target.host}]` : target.host;
    this.baseUrl = `${target.useTls ? "https" : "http"}://${host}:${target.port}`;
    this.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
  }

  async hello(): Promise<PeerHello> {
    const hello = (await this.call("GET", "/api/sync/hello")) as PeerHello;
    if (hello.protocol !== SYNC_PROTOCOL) {
      throw new PeerError(
        "version",
        `the failover speaks sync protocol ${hello.protocol}, not ${SYNC_PROTOCOL}`,
        false,
      );
    }
    return hello;
  }

  async sendChanges(origin: string, changes: unknown[]): Promise<PeerResult[]> {
    const answer = (await this.call("POST", "/api/sync/events", { origin, changes })) as {
      results: PeerResult[];
    };
    return answer.results;
  }

  /** Any /api/sync route (the full sync uses more of them). */
  async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const step = `${method} ${path}`;
    const left = this.deadline === undefined ? Infinity : this.deadline - Date.now();
    if (left <= 0)
      throw new PeerError("timeout", `${step}: no time left to call the failover`, true);
    const timeoutMs = Math.min(this.target.timeoutMs, Math.floor(left));
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: this.authorization,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        // Never followed: it would re-send the call, credentials and batch, to wherever it
        // points, plain http too (R5, R25).
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw classify(error, this.target, step, timeoutMs);
    }
    const text = await response.text();
    if (response.ok) return text ? JSON.parse(text) : undefined;
    if (response.status >= 300 && response.status < 400) {
      throw new PeerError(
        "http",
        `the failover answered ${response.status}, a redirect to ${redirectTarget(response, this.baseUrl)}: redirects are not followed; set host, port and useTls to the failover's endpoint`,
        false,
      );
    }
    const message = errorMessage(text) ?? response.statusText;
    if (response.status === 401 || response.status === 403) {
      throw new PeerError("auth", "the failover refused the credentials", false);
    }
    if (response.status === 409) throw new PeerError("loop", message, false);
    const retryable = response.status >= 500 || response.status === 429;
    throw new PeerError("http", `the failover answered ${response.status}: ${message}`, retryable);
  }
}

/** Where a redirect points, without any user info or query it carries. */
function redirectTarget(response: Response, baseUrl: string): string {
  const location = response.headers.get("location");
  if (!location) return "nowhere (no Location)";
  try {
    const url = new URL(location, baseUrl);
    return `${url.origin}${url.pathname}`;
  } catch {
    return "an invalid Location";
  }
}

function errorMessage(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message;
  } catch {
    return undefined;
  }
}

function classify(error: unknown, target: Target, step: string, timeoutMs: number): PeerError {
  const where = `${target.host}:${target.port}`;
  const name = (error as { name?: string }).name;
  if (name === "TimeoutError" || name === "AbortError") {
    // Cut short by the caller's own limit (an admin API call answers within API Gateway's).
    const cut =
      timeoutMs < target.timeoutMs
        ? `, all the time its caller had left (timeoutMs is ${target.timeoutMs})`
        : "";
    return new PeerError(
      "timeout",
      `${step}: no answer from ${where} within ${timeoutMs} ms${cut}`,
      true,
    );
  }
  const code = String((error as { cause?: { code?: unknown } }).cause?.code ?? "");
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new PeerError("dns", `cannot resolve ${target.host}`, true);
  }
  if (/CERT|SSL|TLS|SELF_SIGNED|ERR_TLS/.test(code)) {
    return new PeerError("tls", `TLS handshake with ${where} failed (${code})`, false);
  }
  return new PeerError("connect", `cannot connect to ${where}${code ? ` (${code})` : ""}`, true);
}
