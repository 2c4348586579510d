import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpPeerClient } from "../../shared/adapters/http-peer-client.ts";
import { PeerError } from "../../shared/sync/peer.ts";

/** A failover that accepts connections and never answers: a hung peer. */
const requests: string[] = [];
const hung = createServer((request) => {
  requests.push(request.url ?? "");
});
let port = 0;

/** Where a redirect points: it records what reaches it, and answers as a failover would. */
const elsewhere: { path: string; body: string }[] = [];
const sink = createServer(async (request, response) => {
  let body = "";
  for await (const chunk of request) body += String(chunk);
  elsewhere.push({ path: request.url ?? "", body });
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ results: [] }));
});
/** A failover endpoint that redirects every call to the sink, keeping method and body (307). */
const redirecting = createServer((_request, response) => {
  const { port: sinkPort } = sink.address() as AddressInfo;
  response.writeHead(307, { location: `http://127.0.0.1:${sinkPort}/collect?from=peer` });
  response.end();
});
const servers = [hung, sink, redirecting];

beforeAll(async () => {
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
  );
  port = (hung.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const client = (deadline: number) =>
  new HttpPeerClient(
    { host: "127.0.0.1", port, useTls: false, timeoutMs: 60_000 },
    { username: "admin", password: "secret" },
    deadline,
  );

async function failure(call: Promise<unknown>): Promise<PeerError> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof PeerError)) throw new Error(`expected a PeerError, got ${String(error)}`);
  return error;
}

describe("a hung failover and the caller's time limit (R9)", () => {
  it("ends the call at the caller's deadline, not after timeoutMs, as a transient timeout", async () => {
    const started = Date.now();

    const error = await failure(client(started + 300).hello());

    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toMatchObject({ failure: "timeout", retryable: true });
    expect(error.message).toMatch(/within \d{3} ms/);
    expect(error.message).not.toContain("secret");
  });

  it("does not call at all once the deadline has passed", async () => {
    const before = requests.length;

    const error = await failure(client(Date.now() - 1).sendChanges("prod", []));

    expect(error).toMatchObject({ failure: "timeout", retryable: true });
    expect(requests.length).toBe(before);
  });
});

describe("a failover endpoint that redirects (R5, R25)", () => {
  it("is not followed: the batch goes nowhere else, and the error names where it pointed", async () => {
    const client = new HttpPeerClient(
      {
        host: "127.0.0.1",
        port: (redirecting.address() as AddressInfo).port,
        useTls: false,
        timeoutMs: 5_000,
      },
      { username: "admin", password: "secret" },
    );
    const change = { item: { kind: "user", id: "alice", data: { passwordHash: "scrypt$hash" } } };

    const error = await failure(client.sendChanges("prod", [change]));

    expect(elsewhere).toEqual([]);
    const { port: sinkPort } = sink.address() as AddressInfo;
    expect(error).toMatchObject({ failure: "http", retryable: false });
    expect(error.message).toContain("307");
    expect(error.message).toContain(`http://127.0.0.1:${sinkPort}/collect`);
    expect(error.message).not.toContain("secret");
  });
});
