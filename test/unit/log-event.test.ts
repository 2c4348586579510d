import { Logger } from "@aws-lambda-powertools/logger";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type AdminApiDeps, createAdminApi } from "../../functions/admin-api/app.ts";
import { lambdaContext } from "../../infra/local/lambda-context.ts";

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("handlers never log their event (R4, R25)", () => {
  it("even when POWERTOOLS_LOGGER_LOG_EVENT is set, the Authorization header stays out of the logs", async () => {
    vi.stubEnv("POWERTOOLS_LOGGER_LOG_EVENT", "true");
    const written: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    }
    const logger = new Logger({ serviceName: "test" });
    const api = createAdminApi({ region: "r", logger } as unknown as AdminApiDeps);
    const secret = Buffer.from("admin:do-not-log-me").toString("base64");

    const answer = await api(
      {
        version: "2.0",
        routeKey: "$default",
        rawPath: "/health",
        rawQueryString: "",
        headers: { authorization: `Basic ${secret}` },
        requestContext: {
          http: { method: "GET", path: "/health" },
        },
        isBase64Encoded: false,
      } as never,
      lambdaContext("admin-api"),
    );

    expect(answer.statusCode).toBe(200);
    expect(written.join("")).not.toContain(secret);
  });
});
