import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { beforeAll, describe, expect, it } from "vitest";
import { routeList } from "../../functions/admin-api/routes.ts";
import { Api } from "../../infra/cloud/constructs/api.ts";

type Route = { RouteKey: string; AuthorizationType?: string; AuthorizerId?: unknown };

let routes: Route[];

beforeAll(() => {
  // Only the API construct, on a stub function, without bundling: seconds, not the whole stack.
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Api", { env: { region: "us-east-1", account: "123456789012" } });
  const handler = new LambdaFunction(stack, "Handler", {
    runtime: Runtime.NODEJS_22_X,
    handler: "index.handler",
    code: Code.fromInline("exports.handler = async () => ({})"),
  });
  new Api(stack, "AdminApi", { handler, adminSecret: new Secret(stack, "Admin") });
  routes = Object.values(Template.fromStack(stack).findResources("AWS::ApiGatewayV2::Route")).map(
    (resource) => resource.Properties as Route,
  );
});

describe("API Gateway's public routes (issue 22.11)", () => {
  const publicPaths = [
    ...new Set(routeList().flatMap((route) => (route.auth === "public" ? [route.path] : []))),
  ];

  it("gives each public path (console, OpenAPI, health) a GET and a HEAD route and nothing else", () => {
    expect(publicPaths.sort()).toEqual(["/", "/api/openapi.json", "/console/{file}", "/health"]);
    for (const path of publicPaths) {
      const keys = routes.map((route) => route.RouteKey).filter((key) => key.endsWith(` ${path}`));
      expect(keys.sort(), path).toEqual([`GET ${path}`, `HEAD ${path}`]);
    }
  });

  it("lets no request without credentials reach the admin function by any other method", () => {
    for (const route of routes) {
      const [method, path] = route.RouteKey.split(" ") as [string, string];
      if (route.AuthorizationType === "CUSTOM" && route.AuthorizerId !== undefined) continue;
      expect(publicPaths, route.RouteKey).toContain(path);
      expect(["GET", "HEAD"], route.RouteKey).toContain(method);
    }
  });

  it("keeps one ANY route (the router's 405 with Allow) on each admin path, behind the authorizer", () => {
    const adminPaths = new Set(
      routeList().flatMap((route) => (route.auth === "admin" ? [route.path] : [])),
    );
    const any = routes.filter((route) => route.RouteKey.startsWith("ANY "));
    expect(any.map((route) => route.RouteKey.slice(4)).sort()).toEqual([...adminPaths].sort());
    for (const route of any) expect(route.AuthorizationType, route.RouteKey).toBe("CUSTOM");
  });
});
