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

beforeAll(async () => {
  await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
  port = (hung.address() as AddressInfo).port;
});
afterAll(async () => {
  hung.closeAllConnections();
  await new Promise((resolve) => hung.close(resolve));
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
