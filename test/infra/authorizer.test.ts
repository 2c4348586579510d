import type { APIGatewayRequestAuthorizerEventV2 } from "aws-lambda";
import { describe, expect, it, vi } from "vitest";
import { createAuthorizer } from "../../functions/authorizer/app.ts";
import { fixedAdmin } from "../../shared/auth/admin.ts";

const admin = { username: "admin", password: "s3cret-Passw0rd" };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const request = (authorization?: string) =>
  ({
    type: "REQUEST",
    routeKey: "GET /api/domains",
    headers: authorization === undefined ? {} : { authorization },
  }) as unknown as APIGatewayRequestAuthorizerEventV2;

describe("HTTP API authorizer (Basic against the admin secret, SPEC §8)", () => {
  it("authorizes the admin credentials", async () => {
    const authorize = createAuthorizer({ admin: fixedAdmin(admin) });
    await expect(authorize(request(basic("admin", admin.password)))).resolves.toEqual({
      isAuthorized: true,
    });
  });

  it.each([
    ["a wrong password", basic("admin", "guess")],
    ["a wrong user", basic("root", admin.password)],
    ["another scheme", "Bearer abc"],
    ["no colon", `Basic ${Buffer.from("admin").toString("base64")}`],
  ])("refuses %s", async (_, header) => {
    const authorize = createAuthorizer({ admin: fixedAdmin(admin) });
    await expect(authorize(request(header))).resolves.toEqual({ isAuthorized: false });
  });

  it("refuses a request without credentials without reading the secret", async () => {
    const accepts = vi.fn(async () => true);
    await expect(createAuthorizer({ admin: { accepts } })(request())).resolves.toEqual({
      isAuthorized: false,
    });
    expect(accepts).not.toHaveBeenCalled();
  });

  it("fails (API Gateway answers 500) rather than allow when the secret cannot be read", async () => {
    const authorize = createAuthorizer({
      admin: { accepts: () => Promise.reject(new Error("AccessDenied")) },
    });
    await expect(authorize(request(basic("admin", admin.password)))).rejects.toThrow(
      "AccessDenied",
    );
  });
});
