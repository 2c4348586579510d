import { describe, expect, inject, it } from "vitest";
import { admin, apiError, productionClient, unique } from "../support/api.ts";

/**
 * What a page of another site could make a browser send to the admin API (issue 22.8): a form
 * (text/plain, urlencoded, multipart) with the Basic credentials a browser cached for the origin.
 */
const api = productionClient();
const url = (path: string) => new URL(path, inject("productionUrl"));
const authorization = () =>
  `Basic ${Buffer.from(`${admin().username}:${admin().password}`).toString("base64")}`;
const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
  fetch(url(path), {
    method,
    headers: { authorization: authorization(), ...headers },
    ...(body !== undefined ? { body } : {}),
  });
const OTHER_SITE = "http://attacker.example";

describe("admin API: browsers of other sites (issue 22.8)", () => {
  it("answers 415 to a body that is not application/json, and saves nothing", async () => {
    const domain = unique("form");
    for (const contentType of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ]) {
      const response = await send(
        "PUT",
        `/api/domains/${domain}`,
        { "content-type": contentType },
        JSON.stringify({ description: "from a form" }),
      );
      expect(response.status, contentType).toBe(415);
      expect(await response.json()).toEqual({
        error: {
          code: "unsupported_media_type",
          message: "content-type: must be application/json",
        },
      });
    }
    expect((await apiError(api.request("GET", `/api/domains/${domain}`))).status).toBe(404);
    // Local mode's own routes too.
    const event = await send("POST", "/_local/events", { "content-type": "text/plain" }, "{}");
    expect(event.status).toBe(415);
    // JSON with parameters is JSON.
    const json = await send(
      "PUT",
      `/api/domains/${domain}`,
      { "content-type": "Application/JSON; charset=utf-8" },
      JSON.stringify({ description: "json" }),
    );
    expect(json.status).toBe(201);
  });

  it("refuses a state-changing request whose Origin is another site, on every kind of route", async () => {
    const domain = unique("csrf");
    const refused = [
      await send(
        "PUT",
        `/api/domains/${domain}`,
        {
          origin: OTHER_SITE,
          "content-type": "application/json",
        },
        "{}",
      ),
      await send("POST", `/api/domains/${domain}/start`, { origin: "null" }),
      await send("POST", "/_local/regions/failover/up", { origin: OTHER_SITE }),
      await send(
        "POST",
        "/_local/events",
        { origin: OTHER_SITE, "content-type": "application/json" },
        "{}",
      ),
      // Same host, another port: another origin (the failover's console is not production's).
      await send(
        "PUT",
        `/api/domains/${domain}`,
        {
          origin: inject("failoverUrl"),
          "content-type": "application/json",
        },
        "{}",
      ),
    ];
    for (const response of refused) {
      expect(response.status, response.url).toBe(403);
      expect(await response.json()).toEqual({
        error: {
          code: "forbidden",
          message: "origin: a page of another site may not change anything here",
        },
      });
    }
    expect((await apiError(api.request("GET", `/api/domains/${domain}`))).status).toBe(404);
  });

  it("takes writes from its own pages and from clients that send no Origin, and reads from anywhere", async () => {
    const domain = unique("own");
    const own = await send(
      "PUT",
      `/api/domains/${domain}`,
      { origin: inject("productionUrl"), "content-type": "application/json" },
      "{}",
    );
    expect(own.status).toBe(201);
    expect((await send("GET", `/api/domains/${domain}`, { origin: OTHER_SITE })).status).toBe(200);
    expect((await send("GET", "/_local/regions", { origin: OTHER_SITE })).status).toBe(200);
    expect((await send("POST", "/_local/regions/failover/up", {})).status).toBe(200);
  });

  it("never asks a browser for Basic credentials: a 401's challenge is not Basic", async () => {
    for (const path of ["/api/domains", "/_local/mail", "/_local/regions"]) {
      const response = await fetch(url(path));
      expect(response.status, path).toBe(401);
      const challenge = response.headers.get("www-authenticate");
      expect(challenge, path).toBe('MFT-Basic realm="mft-failover"');
    }
  });
});
