import { Duration } from "aws-cdk-lib";
import {
  CfnStage,
  HttpApi,
  type HttpMethod,
  type HttpRoute,
  type HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from "aws-cdk-lib/aws-apigatewayv2";
import {
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
} from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { topology } from "../../topology.ts";
import { acknowledge, GUARD, NAG } from "../compliance.ts";
import { gatewayRoutes } from "../routes.ts";
import { stackLogGroup } from "./log-group.ts";
import { MftFunction, type MftFunctionDefaults } from "./mft-function.ts";

/** The receiving side's routes, called by the peer only (SPEC §8). */
const SYNC_PATH = "/api/sync/";

/** The authorizer is not fed by a queue or stream, so it has no infra/topology.ts entry. */
const AUTHORIZER = {
  entry: "functions/authorizer/handler.ts",
  timeoutSeconds: 5,
  memoryMb: 256,
} as const;

export interface ApiProps {
  /** The admin-api Lambda: every route is integrated with it. */
  readonly handler: IFunction;
  /** The admin credentials `{"username","password"}` the authorizer checks Basic auth against. */
  readonly adminSecret: ISecret;
  /** @default - MftFunction's defaults (also used for the access log group) */
  readonly functionDefaults?: MftFunctionDefaults;
  /**
   * Steady-state requests per second for the whole stage.
   * @default 100
   */
  readonly throttleRateLimit?: number;
  /**
   * Burst of requests for the whole stage.
   * @default 200
   */
  readonly throttleBurstLimit?: number;
  /**
   * Throttle of each receiving-side route (`/api/sync/...`, called by the peer's forward,
   * full sync, verify and heartbeat), instead of the stage's: sync and admin traffic each have
   * their own budget, so neither starves the other.
   * @default topology.adminApi.syncThrottle
   */
  readonly syncThrottle?: ThrottleSettings;
}

/**
 * How long API Gateway keeps an authorizer answer per Authorization header value. With the
 * functions' secret cache (SECRET_CACHE_MS) it bounds how long an old admin password keeps
 * working after a rotation: docs/security.md promises 60 s.
 */
export const AUTHORIZER_CACHE_SECONDS = 30;

/**
 * The admin API of SPEC §8 on an API Gateway HTTP API: explicit routes, one Lambda integration,
 * and a Lambda REQUEST authorizer that checks `Authorization: Basic` against the admin secret
 * on every route but `GET /health`. Basic rather than IAM/SigV4 because the caller on
 * `/api/sync` is the peer server, which only has a username and password (its failover
 * settings, R5); the admin-api checks the same credentials again behind the authorizer.
 */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly authorizerFunction: MftFunction;
  /** `https://{api-id}.execute-api.{region}.amazonaws.com/` */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.authorizerFunction = new MftFunction(this, "Authorizer", {
      ...props.functionDefaults,
      ...AUTHORIZER,
      description: "HTTP API authorizer: Basic credentials against the admin secret (SPEC §8)",
    }).bindSecret("ADMIN_SECRET_ID", props.adminSecret);

    const authorizer = new HttpLambdaAuthorizer("Basic", this.authorizerFunction, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ["$request.header.Authorization"],
      resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_SECONDS),
    });
    // One permission for the whole API instead of one per route (one per route otherwise).
    const integration = new HttpLambdaIntegration("AdminApi", props.handler, {
      scopePermissionToRoute: false,
    });

    this.httpApi = new HttpApi(this, "HttpApi", {
      description: "mft-failover admin API (SPEC §8)",
      createDefaultStage: false,
    });
    // API Gateway delivers access logs itself (vended log delivery).
    const accessLogs = stackLogGroup(this, "AccessLogs", {
      defaults: props.functionDefaults ?? {},
      vended: { service: "apigateway", name: "AccessLogs" },
    });
    this.stage = this.httpApi.addStage("DefaultStage", {
      stageName: "$default",
      autoDeploy: true,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
      throttle: {
        rateLimit: props.throttleRateLimit ?? 100,
        burstLimit: props.throttleBurstLimit ?? 200,
      },
    });
    this.url = this.stage.url;
    acknowledge(this.httpApi, `${GUARD}::lambda_function_public_access_prohibited_check`, {
      reason:
        "CT.LAMBDA.PR.2: API Gateway's invoke permissions do set SourceArn (this API's " +
        "execute-api ARN, an Fn::Join the guard rule cannot evaluate offline), so they are not public.",
    });

    const syncRoutes = new Map<string, HttpRoute[]>();
    for (const { key, method, path, auth } of gatewayRoutes()) {
      const routes = this.httpApi.addRoutes({
        path,
        methods: [method as HttpMethod],
        integration,
        ...(auth === "admin" ? { authorizer } : {}),
      });
      if (path.startsWith(SYNC_PATH)) syncRoutes.set(key, routes);
      if (auth === "admin") continue;
      for (const route of routes) {
        acknowledge(route, `${NAG}::AwsSolutions-APIG4`, {
          reason:
            "Public by contract (SPEC §8), GET and HEAD only: /health for load balancers and uptime checks (it returns only the region), the console's page and assets and the OpenAPI document (no data; the console signs in with Basic auth on each API call).",
        });
        acknowledge(route, `${GUARD}::api_gw_v2_authorization_type_configured_check`, {
          reason:
            "CT.APIGATEWAY.PR.5: the public routes of functions/admin-api/routes.ts (health, console, OpenAPI); every other route has the CUSTOM authorizer (asserted in test/infra).",
        });
      }
    }
    this.throttleSyncRoutes(syncRoutes, props.syncThrottle ?? topology.adminApi.syncThrottle);
  }

  /**
   * Route-level throttling (the stage's RouteSettings, by route key) for the receiving side.
   * API Gateway rejects RouteSettings that name a route it does not have yet, so the stage
   * is created after those routes.
   */
  private throttleSyncRoutes(routes: Map<string, HttpRoute[]>, throttle: ThrottleSettings): void {
    const { rateLimit, burstLimit } = throttle;
    if (rateLimit === undefined || burstLimit === undefined || rateLimit <= 0 || burstLimit <= 0) {
      throw new Error("Api: syncThrottle needs a positive rateLimit and burstLimit");
    }
    const stage = this.stage.node.defaultChild;
    if (!(stage instanceof CfnStage)) throw new Error("Api: the stage has no CfnStage");
    stage.routeSettings = Object.fromEntries(
      [...routes.keys()].map((key) => [
        key,
        { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit },
      ]),
    );
    for (const route of [...routes.values()].flat()) this.stage.node.addDependency(route);
  }
}
