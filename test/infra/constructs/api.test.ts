import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { routeList } from "../../../functions/admin-api/routes.ts";
import { gatewayRoutes } from "../../../infra/cloud/routes.ts";
import { topology } from "../../../infra/topology.ts";
import { SECRET_CACHE_MS } from "../../../shared/adapters/secrets-manager-secret-store.ts";
import {
  CALLS_PER_SECOND_PER_FORWARD,
  functionId,
  loadTemplates,
  only,
  type Resources,
  template,
} from "./template.ts";

beforeAll(loadTemplates, 180_000);

describe("api (SPEC §8)", () => {
  const declared = () =>
    Object.values(template.findResources("AWS::ApiGatewayV2::Route") as Resources).map(
      ({ Properties }) => Properties,
    );

  it("declares each route of the admin API's table, plus ANY per admin path and HEAD per public one, all on the admin-api Lambda", () => {
    // Independent of infra/cloud/routes.ts: the table's keys, one ANY (405) per distinct admin
    // path, and a HEAD beside each public GET (test/infra/api-routes.test.ts: nothing else public).
    const table = routeList();
    const paths = (auth: string) => [
      ...new Set(table.filter((route) => route.auth === auth).map((route) => route.path)),
    ];
    expect(table.length).toBeGreaterThan(40);
    expect(
      declared()
        .map((route) => route.RouteKey as string)
        .sort(),
    ).toEqual(
      [
        ...table.map((route) => route.key),
        ...paths("admin").map((path) => `ANY ${path}`),
        ...paths("public").map((path) => `HEAD ${path}`),
      ].sort(),
    );
    template.resourceCountIs("AWS::ApiGatewayV2::Integration", 1);
    template.hasResourceProperties("AWS::ApiGatewayV2::Integration", {
      IntegrationType: "AWS_PROXY",
      PayloadFormatVersion: "2.0",
      IntegrationUri: { "Fn::GetAtt": [functionId("The admin API"), "Arn"] },
    });
  });

  it("puts the Basic-auth authorizer on every route but the table's public ones", () => {
    const authorizer = only(template.findResources("AWS::ApiGatewayV2::Authorizer")).id;
    const publicPaths = new Set(
      routeList()
        .filter((route) => route.auth === "public")
        .map((route) => route.path),
    );
    expect([...publicPaths].sort()).toEqual([
      "/",
      "/api/openapi.json",
      "/console/{file}",
      "/health",
    ]);
    for (const route of declared()) {
      const path = (route.RouteKey as string).split(" ")[1] as string;
      if (publicPaths.has(path)) {
        expect(route.AuthorizerId, `${route.RouteKey}`).toBeUndefined();
      } else {
        expect(route, `${route.RouteKey}`).toMatchObject({
          AuthorizationType: "CUSTOM",
          AuthorizerId: { Ref: authorizer },
        });
      }
    }
  });

  it("authorizes with a REQUEST Lambda on the Authorization header, simple responses", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "REQUEST",
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: "2.0",
      IdentitySource: ["$request.header.Authorization"],
      AuthorizerUri: {
        "Fn::Join": [
          "",
          Match.arrayWith([{ "Fn::GetAtt": [functionId("HTTP API authorizer"), "Arn"] }]),
        ],
      },
    });
  });

  it("lets an old admin password work at most 60 s after a rotation (authorizer cache + secret cache)", () => {
    const authorizer = only(template.findResources("AWS::ApiGatewayV2::Authorizer"));
    const answerCacheSeconds = authorizer.props.AuthorizerResultTtlInSeconds as number;
    expect(answerCacheSeconds * 1000 + SECRET_CACHE_MS).toBeLessThanOrEqual(60_000);
  });

  it("gives the receiving side (/api/sync/...) a throttle of its own, above one sender's forward", () => {
    const syncKeys = gatewayRoutes()
      .filter((route) => route.path.startsWith("/api/sync/"))
      .map((route) => route.key);
    expect(syncKeys).toContain("POST /api/sync/events");
    expect(syncKeys).toContain("ANY /api/sync/events");
    const { rateLimit, burstLimit } = topology.adminApi.syncThrottle;
    const stage = only(template.findResources("AWS::ApiGatewayV2::Stage"));
    expect(stage.props.RouteSettings).toEqual(
      Object.fromEntries(
        syncKeys.map((key) => [
          key,
          { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit },
        ]),
      ),
    );
    // Above what forward sends at its maximum concurrency, and apart from the admin routes'.
    expect(rateLimit).toBeGreaterThan(
      topology.forward.source.maxConcurrency * CALLS_PER_SECOND_PER_FORWARD,
    );
    expect(stage.props.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
    // RouteSettings may only name routes that exist: the stage is created after them.
    const syncRouteIds = Object.keys(
      template.findResources("AWS::ApiGatewayV2::Route", {
        Properties: { RouteKey: Match.stringLikeRegexp("^\\S+ /api/sync/") },
      }),
    );
    expect(syncRouteIds).toHaveLength(syncKeys.length);
    const dependsOn = (template.toJSON().Resources[stage.id] as { DependsOn?: string[] }).DependsOn;
    expect(dependsOn).toEqual(expect.arrayContaining(syncRouteIds));
  });

  it("logs access and throttles on the $default stage", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      DefaultRouteSettings: {
        ThrottlingRateLimit: Match.anyValue(),
        ThrottlingBurstLimit: Match.anyValue(),
      },
    });
  });
});
