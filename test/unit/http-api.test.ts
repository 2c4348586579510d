import { afterEach, describe, expect, it } from "vitest";
import { json } from "../../functions/http.ts";
import { type HttpApi, serveHttpApi } from "../../infra/local/http-api.ts";

let api: HttpApi | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

describe("local API Gateway", () => {
  it("builds its handler from the URL it serves at, so an API can name its own address", async () => {
    const built: string[] = [];
    api = await serveHttpApi({
      port: 0,
      functionName: "test-api",
      handlerAt: (url) => {
        built.push(url);
        return async () => json(200, { self: url });
      },
    });
    expect(built).toEqual([api.url]);
    const response = await fetch(`${api.url}/anything`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ self: api.url });
  });
});
