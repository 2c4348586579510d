/**
 * The HTTP sender of trigger actions (R17): a webhook may reach the public internet only.
 *
 * Each hop's host is resolved once (every address), every address is checked against the deny
 * list below, and the connection goes to the checked address — the request's `lookup` returns
 * it, so nothing resolves the name a second time (no DNS rebinding), while TLS still sends SNI
 * and checks the certificate against the host name. Redirects are followed by hand (at most
 * MAX_REDIRECTS), each hop checked the same way; a hop to another origin carries no body and
 * none of the credentials (Authorization, Cookie, the action's secret headers). One AbortSignal
 * bounds the whole exchange: resolution, every hop, and reading each answer to its end.
 *
 * Errors name the host and the address at most, never the path or query (webhook tokens live
 * there), a header value or the body.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { type HttpRequest, type HttpSender, RequestRefused } from "../events/actions.ts";
import { host } from "../model/schemas.ts";

/** Redirects followed before an action fails with "too many redirects". */
export const MAX_REDIRECTS = 5;

/** An address of a resolved host. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses (node:dns `lookup`, as the OS resolves). */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface SafeHttpOptions {
  /**
   * Hosts exempt from the deny list: host names or IP literals, matched exactly (case-insensitive)
   * against the URL's host, at every hop.
   * @default - none
   */
  readonly allowHosts?: readonly string[];
  /**
   * Loopback addresses (127.0.0.0/8, ::1) are allowed for any host: local mode, where webhook
   * receivers listen on 127.0.0.1. Never in the cloud (the Lambda runtime API is there).
   * @default false
   */
  readonly allowLoopback?: boolean;
  /** @default node:dns `lookup` with `all: true` */
  readonly resolve?: Resolver;
}

// --- Address classification -----------------------------------------------------------------

const NAT64 = ipaddr.parseCIDR("64:ff9b::/96");
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");

/** The IPv4 address in the last 32 bits of an IPv6 address (mapped, translated, NAT64). */
const embeddedV4 = (ip: ipaddr.IPv6) => {
  const [high = 0, low = 0] = ip.parts.slice(6);
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
};

/**
 * The range an IP address belongs to, by ipaddr.js's names (`private`, `loopback`, `linkLocal`,
 * `carrierGradeNat`, `uniqueLocal`, `reserved`…); `unicast` means public. An IPv6 address that
 * embeds an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, RFC 6145 `::ffff:0:a.b.c.d`, NAT64
 * `64:ff9b::a.b.c.d`) is the IPv4 address's range, prefixed (`ipv4Mapped:loopback`). An IPv6
 * address outside 2000::/3, the global unicast space, is never public (IPv4-compatible
 * `::a.b.c.d` included). Anything that is not an IP address is `invalid`.
 */
export function addressRange(address: string): string {
  const kind = isIP(address);
  // IPv6 goes through the URL parser's spelling first: ipaddr.js reads `::a.b.c.d` as mapped.
  const canonical = kind === 6 ? canonicalV6(address) : kind === 4 ? address : undefined;
  if (canonical === undefined) return "invalid";
  const ip = ipaddr.parse(canonical);
  if (ip.kind() === "ipv4") return ip.range();
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  if (range === "ipv4Mapped" || range === "rfc6145" || (range === "rfc6052" && v6.match(NAT64))) {
    const inner = embeddedV4(v6).range();
    return inner === "unicast" ? "unicast" : `${range}:${inner}`;
  }
  if (range !== "unicast") return range;
  return v6.match(GLOBAL_UNICAST_V6) ? "unicast" : "reserved";
}

/** Whether an HTTP action may connect to this address without an allow-list entry. */
export const isPublicAddress = (address: string) => addressRange(address) === "unicast";

/** An IPv6 literal as the URL parser writes it (compressed, lower case, hex); undefined if none. */
function canonicalV6(address: string): string | undefined {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return undefined; // a zone id (`fe80::1%eth0`), for instance
  }
}

const isLoopbackRange = (range: string) => range === "loopback" || range.endsWith(":loopback");

// --- The allow-list -----------------------------------------------------------------------

/**
 * A host as compared with allow-list entries: lower case, no brackets around an IPv6 literal,
 * no trailing dot, an IPv6 literal in one spelling.
 */
export function normalizeHost(hostName: string): string {
  let name = hostName.trim().toLowerCase();
  if (name.startsWith("[") && name.endsWith("]")) name = name.slice(1, -1);
  if (name.endsWith(".")) name = name.slice(0, -1);
  return isIP(name) === 6 ? (canonicalV6(name) ?? name) : name;
}

/** One allow-list entry: a host name or an IP literal (an IPv6 one with or without brackets). */
export const allowHostEntry = z
  .string()
  .transform((entry) => {
    const name = entry.trim().toLowerCase().replace(/\.$/, "");
    return name.startsWith("[") && name.endsWith("]") ? name.slice(1, -1) : name;
  })
  .pipe(host);

/** An allow-list: an array, or a comma-separated string (an environment variable, `-c key=a,b`). */
export const allowHostList = z.preprocess(
  (value) =>
    typeof value === "string"
      ? value
          .split(",")
          .map((entry) => entry.trim())
          .filter((entry) => entry !== "")
      : value,
  z.array(allowHostEntry).max(100),
);

// --- The sender -----------------------------------------------------------------------------

const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4,
  }));

/** Request headers the sender sets itself: an action's own would break the message's framing. */
const CONTROLLED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "expect",
]);
/** Credentials that never follow a redirect to another origin (besides the secret headers). */
const CREDENTIALS = new Set(["authorization", "proxy-authorization", "cookie"]);

/** Where one hop connects: the URL and the checked address. */
interface Hop {
  readonly url: URL;
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * An HttpSender that refuses loopback, link-local, private, shared (CGNAT), unique-local,
 * multicast, reserved and unspecified addresses unless the host is allow-listed (see the file's
 * comment). Resolves with the final answer's status; rejects with a RequestRefused, a network
 * error, or the signal's TimeoutError.
 */
export function safeHttpSender(options: SafeHttpOptions = {}): HttpSender {
  const allowed = new Set((options.allowHosts ?? []).map(normalizeHost));
  const resolve = options.resolve ?? systemResolver;

  /** Resolves and checks one hop's host; its address is the one connected to. */
  async function check(url: URL, signal: AbortSignal): Promise<Hop> {
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new RequestRefused(`refused: ${url.protocol} is not http(s)`);
    }
    if (url.username !== "" || url.password !== "") {
      throw new RequestRefused(
        `refused: credentials in the url of ${url.host} are not sent (use a secret Authorization header)`,
      );
    }
    const name = normalizeHost(url.hostname);
    const literal = isIP(name);
    const addresses: readonly ResolvedAddress[] =
      literal !== 0
        ? [{ address: name, family: literal === 6 ? 6 : 4 }]
        : await abortable(resolve(name), signal);
    const first = addresses[0];
    if (!first) throw new RequestRefused(`refused: ${url.host} has no address`);
    if (!allowed.has(name)) {
      for (const { address } of addresses) {
        const range = addressRange(address);
        if (range === "unicast" || (options.allowLoopback && isLoopbackRange(range))) continue;
        throw new RequestRefused(
          `refused: ${url.host} resolves to ${address} (${range}), which HTTP actions may not reach unless the host is in the allow-list`,
        );
      }
    }
    return { url, address: first.address, family: first.family };
  }

  return async (request: HttpRequest) => {
    const signal = AbortSignal.timeout(request.timeoutMs);
    const secret = new Set([...CREDENTIALS, ...(request.secretHeaders ?? []).map(lower)]);
    const origin = new URL(request.url).origin;
    let url = new URL(request.url);
    let method = request.method;
    let body = request.body;
    let headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => !CONTROLLED.has(lower(name))),
    );
    let hop = await check(url, signal);
    for (let redirects = 0; ; redirects++) {
      const answer = await exchange(hop, method, headers, body, signal);
      if (!REDIRECTS.has(answer.status) || answer.location === undefined) {
        return { status: answer.status };
      }
      if (redirects >= MAX_REDIRECTS) {
        throw new RequestRefused(`refused: more than ${MAX_REDIRECTS} redirects`);
      }
      let next: URL;
      try {
        next = new URL(answer.location, url);
      } catch {
        throw new RequestRefused(`refused: ${url.host} redirected to an invalid url`);
      }
      // Every hop is resolved and checked like the first.
      const nextHop = await check(next, signal);
      // 303, and 301/302 after a POST, continue as GET without a body (as browsers and fetch do).
      if (
        answer.status === 303 ||
        ((answer.status === 301 || answer.status === 302) && method === "POST")
      ) {
        method = "GET";
        body = undefined;
        headers = without(headers, (name) => name.startsWith("content-"));
      }
      if (next.origin !== origin) {
        if (body !== undefined) {
          throw new RequestRefused(
            `refused: ${url.host} answered ${answer.status} to another origin (${next.host}); the body is not sent there`,
          );
        }
        headers = without(headers, (name) => secret.has(name));
      }
      url = next;
      hop = nextHop;
    }
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const lower = (name: string) => name.toLowerCase();
const without = (headers: Record<string, string>, drop: (lowerName: string) => boolean) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !drop(lower(name))));

/** A `lookup` that answers with the checked address only: the connection cannot go elsewhere. */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as (error: null, addresses: { address: string; family: number }[]) => void)(null, [
        { address, family },
      ]);
    } else callback(null, address, family);
  };
}

/** One request and its whole answer (read to the end and dropped); redirects are not followed. */
function exchange(
  hop: Hop,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal,
): Promise<{ status: number; location?: string }> {
  const { url } = hop;
  const options: RequestOptions = {
    method,
    hostname: normalizeHost(url.hostname),
    port: url.port === "" ? undefined : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers:
      body !== undefined ? { ...headers, "content-length": Buffer.byteLength(body) } : headers,
    lookup: pinnedLookup(hop.address, hop.family),
    // A connection of its own: a pooled socket of another request is never reused.
    agent: false,
    signal,
  };
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return abortable(
    new Promise((resolve, reject) => {
      const request = send(options, (response: IncomingMessage) => {
        response.on("error", reject);
        response.on("end", () => {
          const location = response.headers.location;
          resolve({ status: response.statusCode ?? 0, ...(location ? { location } : {}) });
        });
        response.resume();
      });
      request.on("error", reject);
      request.end(body);
    }),
    signal,
  );
}

/** `promise`, or the signal's reason (a TimeoutError) as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(signal.aborted ? signal.reason : error);
      },
    );
  });
}
