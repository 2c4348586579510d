import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { localAllowHosts } from "../../infra/local/triggers.ts";
import {
  addressRange,
  allowHostList,
  isPublicAddress,
  MAX_REDIRECTS,
  type ResolvedAddress,
  safeHttpSender,
} from "../../shared/adapters/safe-http.ts";
import { type HttpRequest, RequestRefused } from "../../shared/events/actions.ts";

// R17: an HTTP action may reach public addresses only, unless its host is allow-listed.

describe("address classification", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.5.4", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "linkLocal"], // instance metadata
    ["169.254.170.2", "linkLocal"], // container credentials
    ["100.64.0.1", "carrierGradeNat"],
    ["100.127.255.254", "carrierGradeNat"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["224.0.0.1", "multicast"],
    ["240.0.0.1", "reserved"],
    ["192.0.2.1", "reserved"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fe80::1", "linkLocal"],
    ["fc00::1", "uniqueLocal"],
    ["fd00:ec2::254", "uniqueLocal"], // instance metadata over IPv6
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "ipv4Mapped:loopback"],
    ["::ffff:169.254.169.254", "ipv4Mapped:linkLocal"],
    ["::ffff:10.0.0.1", "ipv4Mapped:private"],
    ["::ffff:100.64.0.1", "ipv4Mapped:carrierGradeNat"],
    ["::ffff:0:127.0.0.1", "rfc6145:loopback"],
    ["64:ff9b::10.0.0.1", "rfc6052:private"], // NAT64 of a private address
    ["64:ff9b::7f00:1", "rfc6052:loopback"],
    ["64:ff9b:1::a00:1", "rfc6052"], // local-use NAT64 prefix
    ["::127.0.0.1", "reserved"], // IPv4-compatible (deprecated): outside 2000::/3
    ["::7f00:1", "reserved"],
    ["fe80::1%eth0", "invalid"], // a zone id: not for a webhook
    ["2001:db8::1", "reserved"],
    ["2002:a00:1::1", "6to4"],
    ["2001:0:4136:e378::1", "teredo"],
    ["localhost", "invalid"],
  ])("%s is denied (%s)", (address, range) => {
    expect(addressRange(address)).toBe(range);
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255", // just below 100.64.0.0/10
    "100.128.0.1", // just above it
    "172.32.0.1", // just above 172.16.0.0/12
    "169.255.0.1",
    "2606:4700:4700::1111",
    "2a05:d018::1",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8", // NAT64 of a public address
  ])("%s is public", (address) => {
    expect(addressRange(address)).toBe("unicast");
    expect(isPublicAddress(address)).toBe(true);
  });

  it("reads an allow-list from a comma-separated string or an array, refusing what is not a host", () => {
    expect(allowHostList.parse(" Hooks.Example.com, 10.0.0.5 ,[::1],")).toEqual([
      "hooks.example.com",
      "10.0.0.5",
      "::1",
    ]);
    expect(allowHostList.parse(["internal.example."])).toEqual(["internal.example"]);
    for (const bad of [
      "https://hooks.example.com",
      "hooks.example.com:8443",
      "a/b",
      "*.example.com",
    ]) {
      expect(allowHostList.safeParse(bad).success, bad).toBe(false);
    }
  });

  it("local mode reads MFT_HTTP_ALLOW_HOSTS the same way, naming the variable when it is wrong", () => {
    expect(localAllowHosts(undefined)).toEqual([]);
    expect(localAllowHosts("nas.lan,192.168.1.20")).toEqual(["nas.lan", "192.168.1.20"]);
    expect(() => localAllowHosts("nas.lan:8080")).toThrow(/^MFT_HTTP_ALLOW_HOSTS: \[0\]: /);
  });
});

interface Hit {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

type Handler = (request: IncomingMessage, response: ServerResponse, hit: Hit) => void;

const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
});

/** A server on `host` that records each request and answers with `handler` (204 by default). */
async function serve(host: string, handler?: Handler, port = 0) {
  const hits: Hit[] = [];
  const server = createServer(async (request, response) => {
    let body = "";
    for await (const chunk of request) body += chunk;
    const hit = {
      method: request.method ?? "",
      path: request.url ?? "",
      headers: request.headers,
      body,
    };
    hits.push(hit);
    if (handler) handler(request, response, hit);
    else response.writeHead(204).end();
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return { hits, port: bound, origin: `http://${host}:${bound}` };
}

const redirectTo =
  (status: number, location: string): Handler =>
  (_request, response) =>
    response.writeHead(status, { location }).end();

const post = (url: string, extra: Partial<HttpRequest> = {}): HttpRequest => ({
  url,
  method: "POST",
  headers: { "content-type": "application/json" },
  body: '{"ok":true}',
  timeoutMs: 2000,
  ...extra,
});

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("the safe HTTP sender, against real servers on loopback", () => {
  it("refuses 127.0.0.1 without an allow-list, and does not connect", async () => {
    const hook = await serve("127.0.0.1");
    const error = await rejection(safeHttpSender()(post(`${hook.origin}/hook/t0ken?key=s3cret`)));
    expect(error).toBeInstanceOf(RequestRefused);
    expect(error.message).toContain(`127.0.0.1:${hook.port} resolves to 127.0.0.1 (loopback)`);
    // Only the host: webhook tokens live in paths and queries.
    expect(error.message).not.toMatch(/t0ken|s3cret|hook/);
    expect(hook.hits).toEqual([]);
  });

  it("sends to 127.0.0.1 once it is allow-listed, with the method, path, headers and body", async () => {
    const hook = await serve("127.0.0.1", (_request, response) => response.writeHead(202).end());
    const send = safeHttpSender({ allowHosts: ["127.0.0.1"] });
    const answer = await send(
      post(`${hook.origin}/hook?x=1`, {
        headers: { "content-type": "application/json", "X-Plain": "a", Host: "internal.example" },
      }),
    );
    expect(answer).toEqual({ status: 202 });
    expect(hook.hits).toHaveLength(1);
    expect(hook.hits[0]).toMatchObject({ method: "POST", path: "/hook?x=1", body: '{"ok":true}' });
    expect(hook.hits[0]?.headers).toMatchObject({
      "x-plain": "a",
      "content-type": "application/json",
      // The sender sets Host (and the framing headers) itself; an action's own are dropped.
      host: `127.0.0.1:${hook.port}`,
    });
  });

  it("allows loopback for any host only when told to (local mode)", async () => {
    const hook = await serve("127.0.0.1");
    const resolve = async () => [{ address: "127.0.0.1", family: 4 } as const];
    const url = `http://webhook.test:${hook.port}/`;
    await expect(safeHttpSender({ resolve })(post(url))).rejects.toBeInstanceOf(RequestRefused);
    await expect(safeHttpSender({ resolve, allowLoopback: true })(post(url))).resolves.toEqual({
      status: 204,
    });
    // Loopback only: a private address is still refused.
    const privateOnly = async () => [{ address: "10.0.0.7", family: 4 } as const];
    await expect(
      safeHttpSender({ resolve: privateOnly, allowLoopback: true })(post(url)),
    ).rejects.toThrow("10.0.0.7 (private)");
    expect(hook.hits).toHaveLength(1);
  });

  it.each([
    ["[::1]", "::1 (loopback)"],
    ["[::ffff:127.0.0.1]", "::ffff:7f00:1 (ipv4Mapped:loopback)"],
    ["0x7f.1", "127.0.0.1 (loopback)"], // the URL parser's spelling of 127.0.0.1
    ["169.254.169.254", "169.254.169.254 (linkLocal)"],
    ["[fd00:ec2::254]", "fd00:ec2::254 (uniqueLocal)"],
    ["0.0.0.0", "0.0.0.0 (unspecified)"],
  ])("checks a literal IP host %s like a resolved one", async (literal, reason) => {
    const resolve = async (): Promise<ResolvedAddress[]> => {
      throw new Error("a literal IP is not resolved");
    };
    const error = await rejection(safeHttpSender({ resolve })(post(`http://${literal}:9/x`)));
    expect(error).toBeInstanceOf(RequestRefused);
    expect(error.message).toContain(reason);
  });

  it("checks every address a name resolves to: one denied address refuses the request", async () => {
    const resolve = async () =>
      [
        { address: "93.184.216.34", family: 4 },
        { address: "10.0.0.1", family: 4 },
      ] as const;
    const error = await rejection(safeHttpSender({ resolve })(post("https://hooks.test/x")));
    expect(error.message).toBe(
      "refused: hooks.test resolves to 10.0.0.1 (private), which HTTP actions may not reach unless the host is in the allow-list",
    );
  });

  it("matches the allow-list on the URL's host, exactly and case-insensitively", async () => {
    const hook = await serve("127.0.0.1");
    const resolve = async () => [{ address: "127.0.0.1", family: 4 } as const];
    const send = safeHttpSender({ resolve, allowHosts: ["Hooks.Internal.Test"] });
    await expect(send(post(`http://HOOKS.internal.test:${hook.port}/`))).resolves.toEqual({
      status: 204,
    });
    await expect(send(post(`http://sub.hooks.internal.test:${hook.port}/`))).rejects.toBeInstanceOf(
      RequestRefused,
    );
    expect(hook.hits).toHaveLength(1);
  });

  it("pins the checked address: the connection goes there, and the name is not resolved again", async () => {
    // DNS rebinding: the first answer is checked, a later one would point elsewhere.
    const pinned = await serve("127.0.0.2");
    const elsewhere = await serve("127.0.0.1", undefined, pinned.port);
    const lookups: string[] = [];
    const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
      lookups.push(hostname);
      return [{ address: lookups.length === 1 ? "127.0.0.2" : "127.0.0.1", family: 4 }];
    };
    const send = safeHttpSender({ resolve, allowLoopback: true });

    const answer = await send(post(`http://rebind.test:${pinned.port}/hook`));

    expect(answer).toEqual({ status: 204 });
    expect(lookups).toEqual(["rebind.test"]);
    expect(pinned.hits).toHaveLength(1);
    expect(elsewhere.hits).toEqual([]);
    // Still addressed to the name (Host; for https, SNI and the certificate check).
    expect(pinned.hits[0]?.headers.host).toBe(`rebind.test:${pinned.port}`);
  });

  it("re-checks each redirect hop: from an allowed host to a denied one is refused at the hop", async () => {
    const denied = await serve("127.0.0.2");
    const send = safeHttpSender({ allowHosts: ["127.0.0.1"] });

    const toLoopback = await serve(
      "127.0.0.1",
      redirectTo(302, `http://127.0.0.2:${denied.port}/x?t=1`),
    );
    const error = await rejection(send(post(`${toLoopback.origin}/start`)));
    expect(error).toBeInstanceOf(RequestRefused);
    expect(error.message).toContain(`127.0.0.2:${denied.port} resolves to 127.0.0.2 (loopback)`);
    expect(error.message).not.toContain("t=1");
    expect(toLoopback.hits).toHaveLength(1);
    expect(denied.hits).toEqual([]);

    const toMetadata = await serve(
      "127.0.0.1",
      redirectTo(301, "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
    );
    await expect(send(post(`${toMetadata.origin}/`, { method: "PUT" }))).rejects.toThrow(
      "169.254.169.254 (linkLocal)",
    );
    expect(toMetadata.hits).toHaveLength(1);
  });

  it("follows a same-origin redirect with the method, body and every header", async () => {
    let first = true;
    const hook = await serve("127.0.0.1", (_request, response) => {
      if (first) {
        first = false;
        response.writeHead(307, { location: "/moved" }).end();
      } else response.writeHead(200).end();
    });
    const send = safeHttpSender({ allowHosts: ["127.0.0.1"] });
    await send(
      post(`${hook.origin}/hook`, {
        headers: { authorization: "Bearer a", "X-Token": "t", "content-type": "application/json" },
        secretHeaders: ["X-Token"],
      }),
    );
    expect(hook.hits.map((hit) => [hit.method, hit.path, hit.body])).toEqual([
      ["POST", "/hook", '{"ok":true}'],
      ["POST", "/moved", '{"ok":true}'],
    ]);
    expect(hook.hits[1]?.headers).toMatchObject({ authorization: "Bearer a", "x-token": "t" });
  });

  it("sends neither the body nor credentials nor secret headers to another origin", async () => {
    const other = await serve("127.0.0.2");
    const hook = await serve("127.0.0.1", redirectTo(302, `http://127.0.0.2:${other.port}/next`));
    const send = safeHttpSender({ allowHosts: ["127.0.0.1", "127.0.0.2"] });

    await send(
      post(`${hook.origin}/hook`, {
        headers: {
          Authorization: "Bearer a",
          Cookie: "c=1",
          "X-Token": "t",
          "X-Plain": "p",
          "Idempotency-Key": "evt-t",
          "content-type": "application/json",
        },
        secretHeaders: ["X-Token"],
      }),
    );

    expect(other.hits).toHaveLength(1);
    expect(other.hits[0]).toMatchObject({ method: "GET", path: "/next", body: "" });
    const headers = other.hits[0]?.headers ?? {};
    expect(headers).toMatchObject({ "x-plain": "p", "idempotency-key": "evt-t" });
    for (const name of ["authorization", "cookie", "x-token", "content-type"]) {
      expect(headers[name], name).toBeUndefined();
    }
  });

  it("refuses a 307/308 to another origin, which would resend the body there", async () => {
    const other = await serve("127.0.0.2");
    const hook = await serve("127.0.0.1", redirectTo(308, `http://127.0.0.2:${other.port}/`));
    const send = safeHttpSender({ allowHosts: ["127.0.0.1", "127.0.0.2"] });
    await expect(send(post(`${hook.origin}/`))).rejects.toThrow(
      `answered 308 to another origin (127.0.0.2:${other.port}); the body is not sent there`,
    );
    expect(other.hits).toEqual([]);
  });

  it("turns a 303 into a GET without a body", async () => {
    let first = true;
    const hook = await serve("127.0.0.1", (_request, response) => {
      if (first) {
        first = false;
        response.writeHead(303, { location: "/status" }).end();
      } else response.writeHead(200).end();
    });
    await safeHttpSender({ allowHosts: ["127.0.0.1"] })(post(`${hook.origin}/`, { method: "PUT" }));
    expect(hook.hits.map((hit) => [hit.method, hit.body, hit.headers["content-type"]])).toEqual([
      ["PUT", '{"ok":true}', "application/json"],
      ["GET", "", undefined],
    ]);
  });

  it(`follows at most ${MAX_REDIRECTS} redirects`, async () => {
    const loop = await serve("127.0.0.1", redirectTo(302, "/again"));
    await expect(
      safeHttpSender({ allowHosts: ["127.0.0.1"] })(
        post(`${loop.origin}/`, { method: "GET", body: undefined }),
      ),
    ).rejects.toThrow(`more than ${MAX_REDIRECTS} redirects`);
    expect(loop.hits).toHaveLength(MAX_REDIRECTS + 1);
  });

  it("times out over the whole exchange, an answer whose body never ends included", async () => {
    const stalls = await serve("127.0.0.1", (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.write("partial"); // and never ends
    });
    const started = Date.now();
    const error = await rejection(
      safeHttpSender({ allowHosts: ["127.0.0.1"] })(post(`${stalls.origin}/`, { timeoutMs: 300 })),
    );
    expect(error.name).toBe("TimeoutError");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("times out while resolving, too", async () => {
    const never = () => new Promise<ResolvedAddress[]>(() => {});
    const error = await rejection(
      safeHttpSender({ resolve: never })(post("https://slow-dns.test/", { timeoutMs: 200 })),
    );
    expect(error.name).toBe("TimeoutError");
  });
});
