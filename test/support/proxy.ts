import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** What the proxy does with one request. */
export type ProxyMode =
  | { readonly kind: "pass" }
  /** Answers only after `ms`: a failover slower than timeoutMs. */
  | { readonly kind: "slow"; readonly ms: number }
  /** Lets the failover apply the request, then drops the answer: a crash before the ack. */
  | { readonly kind: "lose-answer" };

async function body(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A fault-injecting HTTP proxy on 127.0.0.1 in front of the failover's admin API. */
export async function startProxy(target: string, mode: (path: string) => ProxyMode) {
  const seen: string[] = [];
  const server = createServer(async (request, response) => {
    const path = request.url ?? "/";
    seen.push(path);
    const current = mode(path);
    const upstream = await fetch(new URL(path, target), {
      method: request.method ?? "GET",
      headers: Object.fromEntries(
        Object.entries(request.headers).filter(
          (entry): entry is [string, string] => typeof entry[1] === "string" && entry[0] !== "host",
        ),
      ),
      ...(request.method === "GET" ? {} : { body: await body(request) }),
    });
    const text = await upstream.text();
    if (current.kind === "lose-answer") {
      request.socket.destroy();
      return;
    }
    if (current.kind === "slow") await new Promise((resolve) => setTimeout(resolve, current.ms));
    if (response.destroyed) return;
    response.writeHead(upstream.status, { "content-type": "application/json" });
    response.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    /** Paths requested so far. */
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
