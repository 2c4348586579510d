import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { routeList } from "../../functions/admin-api/routes.ts";
import { failbackDefinition } from "../../functions/failback/definition.ts";
import { fullSyncDefinition, taskStateNames } from "../../functions/full-sync/definition.ts";
import { buildCloudApp } from "../../infra/cloud/build.ts";
import {
  FAILBACK_PRODUCTION_PASSWORD_SECRET,
  FAILBACK_TASK_ARN,
  failbackTaskSize,
} from "../../infra/cloud/constructs/failback.ts";
import { FULL_SYNC_TASK_ARN, fullSyncTaskSize } from "../../infra/cloud/constructs/full-sync.ts";
import { REPO_ROOT } from "../../infra/cloud/constructs/mft-function.ts";
import { FAILOVER_PASSWORD_SECRET } from "../../infra/cloud/constructs/pipeline.ts";
import { VENDED_LOGS_PREFIX } from "../../infra/cloud/constructs/task-state-machine.ts";
import { DEFAULT_TRIGGER_RULE_PREFIX } from "../../infra/cloud/constructs/triggers.ts";
import { gatewayRoutes } from "../../infra/cloud/routes.ts";
import { topology } from "../../infra/topology.ts";
import { configTableDefinition } from "../../shared/adapters/config-table.ts";
import { SECRET_CACHE_MS } from "../../shared/adapters/secrets-manager-secret-store.ts";
import { testApp, testConfig } from "./cloud-app.ts";
import { metricsPublishedIn, publishedMetrics, secretStoreUses } from "./source-scan.ts";

type Resources = Record<string, { Properties: Record<string, unknown> }>;

/** The stack's metrics namespace: its stackPrefix (issue 23.5). */
const METRICS_NAMESPACE = testConfig.stackPrefix;

let template: Template;
let failoverTemplate: Template;
const only = (found: Record<string, object>) => {
  const entries = Object.entries(found as Resources);
  expect(entries).toHaveLength(1);
  const [entry] = entries;
  if (!entry) throw new Error("unreachable");
  return { id: entry[0], props: entry[1].Properties };
};
/** The logical id of the one function whose description starts with `prefix`. */
const functionId = (prefix: string) =>
  only(
    template.findResources("AWS::Lambda::Function", {
      Properties: { Description: Match.stringLikeRegexp(`^${prefix}`) },
    }),
  ).id;
const queueId = (match: Record<string, unknown>) =>
  only(template.findResources("AWS::SQS::Queue", { Properties: match })).id;
/** The logical id of the one resource of `type` whose id starts with `prefix` (its construct path). */
const idOf = (type: string, prefix: string) => {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids, `${type} ${prefix}`).toHaveLength(1);
  return ids[0] as string;
};
/** `arn:<partition>:<service>:<region>:<account>:<resource>`, as CDK's formatArn renders it. */
const arnOf = (service: string, resource: string, region: string = testConfig.primaryRegion) => ({
  "Fn::Join": [
    "",
    ["arn:", { Ref: "AWS::Partition" }, `:${service}:${region}:${testConfig.account}:${resource}`],
  ],
});
/**
 * The most `/api/sync/events` calls per second one forward invocation can make: one call in
 * flight at a time (one per batch), none answered in under ~100 ms (infra/topology.ts).
 */
const CALLS_PER_SECOND_PER_FORWARD = 10;
/** The alarm topic (the mail topic, when there is one, is another SNS topic). */
const alarmTopicId = () =>
  only(
    template.findResources("AWS::SNS::Topic", {
      Properties: { DisplayName: "mft-failover alarms" },
    }),
  ).id;

beforeAll(() => {
  // Arrange, once: both stacks, no bundling, no checkers (compliance.test.ts runs those).
  const { primary, failover } = testApp({ checks: false });
  template = Template.fromStack(primary);
  failoverTemplate = Template.fromStack(failover);
});

describe("one stack class, one stack per region (R19: roles are a setting)", () => {
  it("names the server after its region in both stacks", () => {
    for (const [t, region] of [
      [template, testConfig.primaryRegion],
      [failoverTemplate, testConfig.failoverRegion],
    ] as const) {
      t.hasResourceProperties("AWS::Lambda::Function", {
        Environment: { Variables: Match.objectLike({ SERVER_ID: region }) },
      });
    }
  });

  it("deploys the same resources in both regions", () => {
    const count = (t: Template) =>
      Object.values(t.toJSON().Resources as Record<string, { Type: string }>)
        .map((r) => r.Type)
        .sort();
    expect(count(failoverTemplate)).toEqual(count(template));
  });

  it("outputs the API URL and the admin secret ARN", () => {
    template.hasOutput("ApiUrl", {});
    template.hasOutput("AdminSecretArn", {});
  });
});

describe("store", () => {
  it("is the table configTableDefinition() describes (the one the local runtime creates)", () => {
    const definition = configTableDefinition("ignored");
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: definition.BillingMode,
      KeySchema: definition.KeySchema,
      AttributeDefinitions: Match.arrayEquals(definition.AttributeDefinitions ?? []),
      GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes,
      StreamSpecification: { StreamViewType: definition.StreamSpecification?.StreamViewType },
    });
  });

  it("has the stream NEW_AND_OLD_IMAGES, point-in-time recovery, encryption and deletion protection", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      Properties: Match.objectLike({
        StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      }),
    });
  });

  it("expires short-lived LOCAL records by TTL on expiresAt (epoch seconds, DynamoConfigStore.putLocal)", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
  });
});

describe("pipeline (R7–R10)", () => {
  it("feeds capture from the stream with bisect, retries until the max age, an on-failure queue and partial batch responses", () => {
    const { stream } = topology.capture;
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: functionId("DynamoDB stream") },
      EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^StoreTable"), "StreamArn"] },
      StartingPosition: stream.startingPosition,
      BatchSize: stream.batchSize,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: stream.maximumRetryAttempts,
      MaximumRecordAgeInSeconds: stream.maximumRecordAgeSeconds,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      DestinationConfig: {
        OnFailure: {
          Destination: { "Fn::GetAtt": [Match.stringLikeRegexp("CaptureFailures"), "Arn"] },
        },
      },
    });
  });

  it("lets only replicated items this server wrote through to capture (R3: DOMAIN#… and SERVER, never LOCAL; R18: not what it applied for its peer)", () => {
    const mapping = only(
      template.findResources("AWS::Lambda::EventSourceMapping", {
        Properties: { BisectBatchOnFunctionError: true },
      }),
    ).props as { FilterCriteria: { Filters: { Pattern: string }[] } };
    expect(mapping.FilterCriteria.Filters.map((f) => JSON.parse(f.Pattern))).toEqual([
      {
        dynamodb: {
          Keys: { pk: { S: [{ prefix: "DOMAIN#" }, "SERVER"] } },
          NewImage: { origin: { S: [testConfig.primaryRegion] } },
        },
      },
    ]);
  });

  it("queues changes on a FIFO queue with a FIFO dead-letter queue after maxReceiveCount (R8–R10)", () => {
    const dlq = queueId({ FifoQueue: true, RedrivePolicy: Match.absent() });
    template.hasResourceProperties("AWS::SQS::Queue", {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      VisibilityTimeout: topology.forward.queue.visibilityTimeoutSeconds,
      MessageRetentionPeriod: topology.forward.queue.retentionDays * 24 * 3600,
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [dlq, "Arn"] },
        maxReceiveCount: topology.forward.queue.maxReceiveCount,
      },
      SqsManagedSseEnabled: true,
    });
  });

  it("feeds forward from the FIFO queue with partial batch responses", () => {
    const queue = queueId({ FifoQueue: true, RedrivePolicy: Match.anyValue() });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: functionId("FIFO queue") },
      EventSourceArn: { "Fn::GetAtt": [queue, "Arn"] },
      BatchSize: topology.forward.source.batchSize,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("bounds forward's concurrency (FIFO scales with message groups) below the peer's sync budget", () => {
    const { maxConcurrency } = topology.forward.source;
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: functionId("FIFO queue") },
      ScalingConfig: { MaximumConcurrency: maxConcurrency },
    });
    expect(maxConcurrency).toBeGreaterThanOrEqual(2); // Lambda's minimum
    // What one sender can produce stays within the receiving side's sync throttle.
    const { rateLimit, burstLimit } = topology.adminApi.syncThrottle;
    expect(maxConcurrency * CALLS_PER_SECOND_PER_FORWARD).toBeLessThan(rateLimit);
    expect(maxConcurrency).toBeLessThan(burstLimit);
  });

  it("lets forward disable its own event source mapping only (R9 suspend)", () => {
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
            Resource: {
              "Fn::Join": [
                "",
                Match.arrayWith([{ Ref: Match.stringLikeRegexp("ForwardSqsEventSource") }]),
              ],
            },
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp("ForwardRole") }],
    });
  });
});

describe("functions", () => {
  it("all run the Node.js major this suite runs on, on arm64 with source maps, tracing as configured and their own log group", () => {
    const suiteMajor = process.versions.node.split(".")[0];
    const functions = template.findResources("AWS::Lambda::Function");
    expect(Object.keys(functions)).toHaveLength(9);
    for (const { Properties } of Object.values(functions as Resources)) {
      expect(Properties).toMatchObject({
        Runtime: `nodejs${suiteMajor}.x`,
        Architectures: ["arm64"],
        // The config's tracing, off by default: traced when a traced caller sampled (issue 23.6).
        TracingConfig: { Mode: "PassThrough" },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
        Environment: { Variables: { NODE_OPTIONS: "--enable-source-maps" } },
      });
    }
    template.allResourcesProperties("AWS::Logs::LogGroup", {
      RetentionInDays: testConfig.logRetentionDays,
      KmsKeyId: Match.anyValue(),
    });
  });

  it("take timeouts and memory from infra/topology.ts", () => {
    for (const [prefix, entry] of [
      ["The admin API", topology.adminApi],
      ["DynamoDB stream", topology.capture],
      ["FIFO queue", topology.forward],
      ["Trigger rules", topology.triggerRules],
      ["Trigger actions", topology.triggerActions],
      ["Full sync", fullSyncTaskSize],
      ["Failback", failbackTaskSize],
      ["Monitor", topology.monitor],
    ] as const) {
      template.hasResourceProperties("AWS::Lambda::Function", {
        Description: Match.stringLikeRegexp(`^${prefix}`),
        Timeout: entry.timeoutSeconds,
        MemorySize: entry.memoryMb,
      });
    }
  });

  it("get the environment their handlers read", () => {
    const server = [
      "TABLE_NAME",
      "SERVER_ID",
      "SECRET_PREFIX",
      "METRICS_NAMESPACE",
      "QUEUE_URL",
      "QUEUE_ARN",
      "DLQ_URL",
      "DLQ_ARN",
      "EVENT_BUS_NAME",
      "FORWARD_FUNCTION_NAME",
    ];
    const contracts: [string, string[]][] = [
      [
        "The admin API",
        [...server, "ADMIN_SECRET_ID", "STATE_MACHINE_ARN", "FAILBACK_STATE_MACHINE_ARN"],
      ],
      ["Full sync", server],
      ["Failback", server],
      ["Monitor", server],
      ["DynamoDB stream", server],
      ["FIFO queue", server],
      ["HTTP API authorizer", ["ADMIN_SECRET_ID"]],
      [
        "Trigger rules",
        [
          "TABLE_NAME",
          "SERVER_ID",
          "EVENT_BUS_NAME",
          "TRIGGER_ACTIONS_FUNCTION_ARN",
          "TRIGGER_RULE_PREFIX",
          "TRIGGER_DLQ_ARN",
        ],
      ],
      ["Trigger actions", ["TABLE_NAME", "SERVER_ID", "METRICS_NAMESPACE", "MAIL_TOPIC_ARN"]],
    ];
    for (const [prefix, names] of contracts) {
      const { props } = only(
        template.findResources("AWS::Lambda::Function", {
          Properties: { Description: Match.stringLikeRegexp(`^${prefix}`) },
        }),
      );
      const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(variables).sort(), prefix).toEqual([...names, "NODE_OPTIONS"].sort());
    }
  });

  it("get the queues' ARNs from the stack, wherever they get the URLs (no arn:aws: built in code)", () => {
    const queue = queueId({ FifoQueue: true, RedrivePolicy: Match.anyValue() });
    const dlq = queueId({ FifoQueue: true, RedrivePolicy: Match.absent() });
    const withQueue = Object.values(
      template.findResources("AWS::Lambda::Function", {
        Properties: { Environment: { Variables: { QUEUE_URL: Match.anyValue() } } },
      }) as Resources,
    );
    expect(withQueue).toHaveLength(6);
    for (const { Properties } of withQueue) {
      expect((Properties.Environment as { Variables: unknown }).Variables).toMatchObject({
        QUEUE_URL: { Ref: queue },
        QUEUE_ARN: { "Fn::GetAtt": [queue, "Arn"] },
        DLQ_URL: { Ref: dlq },
        DLQ_ARN: { "Fn::GetAtt": [dlq, "Arn"] },
      });
    }
    // Nothing in either template names the aws partition itself.
    for (const t of [template, failoverTemplate]) {
      expect(JSON.stringify(t.toJSON())).not.toMatch(/arn:aws:/);
    }
  });

  it("name a resource in every statement where IAM can (no '*' but for list/trace actions)", () => {
    // Actions that have no resource-level permissions in IAM at all.
    const unscoped = new Set([
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "lambda:ListEventSourceMappings",
      "dynamodb:ListStreams",
      "events:ListRules",
      // The state machine's logging (vended log delivery) and tracing grants.
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]);
    const policies = template.findResources("AWS::IAM::Policy") as Resources;
    expect(Object.keys(policies).length).toBeGreaterThanOrEqual(4);
    for (const [id, { Properties }] of Object.entries(policies)) {
      const { Statement } = Properties.PolicyDocument as {
        Statement: { Action: string | string[]; Resource: unknown }[];
      };
      for (const statement of Statement) {
        const resources = [statement.Resource].flat();
        if (!resources.includes("*")) continue;
        for (const action of [statement.Action].flat()) {
          expect(unscoped.has(action), `${id}: ${action} on '*'`).toBe(true);
        }
      }
    }
  });

  /** The actions of each statement of `role` that names the secret `name` (by its ARN pattern). */
  const secretActionsOf = (role: string, name: string) =>
    statementsOf(role)
      .filter((s) =>
        [s.Resource]
          .flat()
          .some((r) =>
            JSON.stringify(r).includes(`:secret:${testConfig.stackPrefix}/${name}-??????"`),
          ),
      )
      .map((s) => s.Action);
  const readSecret = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"];
  const writeSecret = [
    ...readSecret,
    "secretsmanager:PutSecretValue",
    "secretsmanager:CreateSecret",
  ];
  /** Every role (its logical id) with a statement naming the secret `name`. */
  const rolesNamingSecret = (name: string) =>
    Object.values(template.findResources("AWS::IAM::Policy") as Resources)
      .filter(({ Properties }) => JSON.stringify(Properties.PolicyDocument).includes(`/${name}-`))
      .flatMap(({ Properties }) => (Properties.Roles as { Ref: string }[]).map((r) => r.Ref))
      .map((ref) => ref.replace(/[0-9A-F]{8}$/, ""))
      .sort();

  it("grant the failover password to admin-api (read/write), forward, full sync, failback and the monitor (read) only", () => {
    const name = FAILOVER_PASSWORD_SECRET;
    expect(secretActionsOf("AdminApiRole", name)).toEqual([writeSecret]);
    for (const role of [
      "PipelineForwardRole",
      "FullSyncTaskRole",
      "FailbackTaskRole",
      "MonitorFunctionRole",
    ]) {
      expect(secretActionsOf(role, name), role).toEqual([readSecret]);
    }
    expect(rolesNamingSecret(name)).toEqual(
      [
        "AdminApiRole",
        "FailbackTaskRole",
        "FullSyncTaskRole",
        "MonitorFunctionRole",
        "PipelineForwardRole",
      ].sort(),
    );
  });

  it("grant production's failback password to admin-api (read/write: it stores it) and the failback task (read) only", () => {
    const name = FAILBACK_PRODUCTION_PASSWORD_SECRET;
    expect(secretActionsOf("AdminApiRole", name)).toEqual([writeSecret]);
    expect(secretActionsOf("FailbackTaskRole", name)).toEqual([readSecret]);
    expect(rolesNamingSecret(name)).toEqual(["AdminApiRole", "FailbackTaskRole"]);
  });

  it("grant every secret the code asks its SecretStore for, and write one only from the admin API", () => {
    const uses = secretStoreUses(["shared", "functions"]);
    // The scan found the calls (a renamed port would leave it empty).
    expect(uses.length).toBeGreaterThan(5);
    expect(new Set(uses.map((use) => use.name))).toEqual(
      new Set([FAILOVER_PASSWORD_SECRET, FAILBACK_PRODUCTION_PASSWORD_SECRET]),
    );
    // Writes happen in what only the admin API runs: settings (PUT /api/failover) and
    // POST /api/failover/failback (requestFailback, before the state machine starts).
    const writes = uses.filter((use) => use.method === "put");
    expect(writes.map((use) => `${use.file} ${use.name}`).sort()).toEqual([
      `shared/config/failover-settings.ts ${FAILOVER_PASSWORD_SECRET}`,
      `shared/sync/failback.ts ${FAILBACK_PRODUCTION_PASSWORD_SECRET}`,
    ]);
  });
});

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

describe("events and alarms (R16, R22)", () => {
  it("has its own EventBridge bus, named in forward's and admin-api's environment", () => {
    const bus = only(template.findResources("AWS::Events::EventBus")).id;
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^FIFO queue"),
      Environment: { Variables: Match.objectLike({ EVENT_BUS_NAME: { Ref: bus } }) },
    });
  });

  it("emails the configured address from an encrypted topic", () => {
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: testConfig.alarmEmail,
    });
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
  });

  it("lets CloudWatch alarms of this account publish to the alarm topic and use its key (R22)", () => {
    // enforceSSL's topic policy replaces SNS's default one: without this, no alarm notifies.
    for (const [t, region] of [
      [template, testConfig.primaryRegion],
      [failoverTemplate, testConfig.failoverRegion],
    ] as const) {
      const topic = only(
        t.findResources("AWS::SNS::Topic", { Properties: { DisplayName: "mft-failover alarms" } }),
      );
      t.hasResourceProperties("AWS::SNS::TopicPolicy", {
        Topics: [{ Ref: topic.id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: "CloudWatchAlarmsOfThisAccountPublish",
              Effect: "Allow",
              Principal: { Service: "cloudwatch.amazonaws.com" },
              Action: "sns:Publish",
              Resource: { Ref: topic.id },
              Condition: {
                StringEquals: { "aws:SourceAccount": testConfig.account },
                ArnLike: { "aws:SourceArn": arnOf("cloudwatch", "alarm:*", region) },
              },
            },
          ]),
        },
      });
      // The topic is encrypted with the stack key, whose policy lets CloudWatch use it.
      const key = (topic.props.KmsMasterKeyId as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"];
      expect(key[1]).toBe("Arn");
      t.hasResourceProperties("AWS::KMS::Key", {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Allow",
              Principal: { Service: "cloudwatch.amazonaws.com" },
              Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
              // Only this account's alarms may use the key (R25: no confused deputy).
              Condition: { StringEquals: { "aws:SourceAccount": testConfig.account } },
            }),
          ]),
        },
      });
      expect(Object.keys(t.findResources("AWS::KMS::Key"))).toEqual([key[0]]);
    }
  });

  it("sends every alarm to the topic on ALARM and OK, with treatMissingData set", () => {
    const topic = alarmTopicId();
    const alarms = template.findResources("AWS::CloudWatch::Alarm") as Resources;
    expect(Object.keys(alarms)).toHaveLength(19);
    for (const { Properties } of Object.values(alarms)) {
      expect(Properties).toMatchObject({
        ActionsEnabled: true,
        AlarmActions: [{ Ref: topic }],
        OKActions: [{ Ref: topic }],
        TreatMissingData: expect.stringMatching(/^(notBreaching|breaching|ignore)$/),
      });
    }
  });

  it("alarms on DLQ messages, stream iterator age, oldest queued message, failed syncs, missed heartbeats and drift", () => {
    const dlq = queueId({ FifoQueue: true, RedrivePolicy: Match.absent() });
    const queue = queueId({ FifoQueue: true, RedrivePolicy: Match.anyValue() });
    const captureFailures = idOf("AWS::SQS::Queue", "PipelineCaptureFailures");
    for (const target of [dlq, captureFailures]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [target, "QueueName"] } }],
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      });
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "IteratorAge",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: functionId("DynamoDB stream") } }],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queue, "QueueName"] } }],
    });
    for (const [metric, operator, threshold, missing] of [
      ["SUM(SyncFailures)", "GreaterThanOrEqualToThreshold", 1, "notBreaching"],
      // NOT_BREACHING: a server with sync off publishes no heartbeat at all (alarms.ts).
      ["MAX(HeartbeatMissed)", "GreaterThanOrEqualToThreshold", 1, "notBreaching"],
      ["MAX(Drift)", "GreaterThanThreshold", 0, "ignore"],
    ] as const) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        ComparisonOperator: operator,
        Threshold: threshold,
        TreatMissingData: missing,
        Metrics: [
          Match.objectLike({
            Expression: `SELECT ${metric} FROM "${METRICS_NAMESPACE}"`,
            ReturnData: true,
            Period: 300,
          }),
        ],
      });
    }
  });
});

describe("every alarm watches a metric the code publishes (R22)", () => {
  /** The `MftFailover` metric names each alarm watches, by alarm id. */
  const alarmedMetrics = (t: Template): [string, string][] => {
    type Stat = { Metric?: { Namespace?: string; MetricName?: string } };
    type AlarmProps = {
      Namespace?: string;
      MetricName?: string;
      Metrics?: { Expression?: string; MetricStat?: Stat }[];
    };
    const found: [string, string][] = [];
    for (const [id, { Properties }] of Object.entries(
      t.findResources("AWS::CloudWatch::Alarm") as Record<string, { Properties: AlarmProps }>,
    )) {
      if (Properties.Namespace === METRICS_NAMESPACE && Properties.MetricName) {
        found.push([id, Properties.MetricName]);
      }
      for (const { Expression, MetricStat } of Properties.Metrics ?? []) {
        const metric = MetricStat?.Metric;
        if (metric?.Namespace === METRICS_NAMESPACE && metric.MetricName) {
          found.push([id, metric.MetricName]);
        }
        if (!Expression || !/\bSELECT\b/i.test(Expression)) continue;
        // Metrics Insights: SELECT MAX(Name) FROM "Namespace" | SCHEMA("Namespace", …) …
        const query =
          /^SELECT\s+\w+\(\s*"?(\w+)"?\s*\)\s+FROM\s+(?:SCHEMA\(\s*)?"?([^",)\s]+)"?/i.exec(
            Expression.trim(),
          );
        expect(query, `${id}: a query this test can read: ${Expression}`).not.toBeNull();
        if (query?.[1] && query[2] === METRICS_NAMESPACE) found.push([id, query[1]]);
      }
    }
    return found;
  };

  it("finds each alarmed MftFailover metric published by functions/ or shared/ code", () => {
    const alarmed = alarmedMetrics(template);
    const published = publishedMetrics(["functions", "shared"]);
    const unpublished = alarmed.filter(([, name]) => !published.has(name));
    expect(unpublished.map(([id, name]) => `${id} watches ${name}`)).toEqual([]);
    // The collector found them (the query parsed): the R22 metrics and the triggers' one.
    expect(new Set(alarmed.map(([, name]) => name))).toEqual(
      new Set(["SyncFailures", "HeartbeatMissed", "HeartbeatAge", "Drift", "TriggerActionsFailed"]),
    );
  });

  it("counts publishing calls only, not a name in a comment, a type or a string", () => {
    const source = [
      '// metrics.publish({ Drift: 1 }) and addMetric("Drift", …) in a comment',
      "/* deps.metrics.publish({ Drift: 1 }) */",
      'export type MetricName = "SyncFailures" | "Drift";',
      "const note = 'metrics.addMetric(\"Drift\", MetricUnit.Count, 1)';",
      "const published = { HeartbeatMissed: 1 };",
      "await deps.metrics.publish({ SyncFailures: failed ? 1 : 0, Drift });",
      'metrics.addMetric("TriggerActionsFailed", MetricUnit.Count, failed);',
    ].join("\n");
    expect(metricsPublishedIn("fixture.ts", source)).toEqual([
      "SyncFailures",
      "Drift",
      "TriggerActionsFailed",
    ]);
    // shared/metrics.ts names every metric in its MetricName type and comments, and publishes none.
    expect(metricsPublishedIn(join(REPO_ROOT, "shared", "metrics.ts"))).toEqual([]);
  });
});

type Statement = { Action: string | string[]; Resource: unknown };
/** Every statement of the policies attached to roles whose logical id starts with `role`. */
const statementsOf = (role: string): Statement[] =>
  Object.values(
    template.findResources("AWS::IAM::Policy", {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp(`^${role}`) }] },
    }) as Resources,
  ).flatMap(
    ({ Properties }) => (Properties.PolicyDocument as { Statement: Statement[] }).Statement,
  );

describe("monitor (R20 heartbeat, R21 verify)", () => {
  const actionsOf = (role: string) =>
    new Set(statementsOf(role).flatMap((statement) => [statement.Action].flat()));
  const schedules = () =>
    Object.values(template.findResources("AWS::Scheduler::Schedule") as Resources).map(
      ({ Properties }) =>
        Properties as {
          ScheduleExpression: string;
          State: string;
          FlexibleTimeWindow: { Mode: string };
          Target: { Arn: unknown; Input: string; RoleArn: { "Fn::GetAtt": [string, string] } };
        },
    );

  it("invokes the monitor on two EventBridge Scheduler schedules: heartbeat and verify", () => {
    const monitor = functionId("Monitor");
    const { heartbeat, verify } = topology.monitor;
    const found = schedules().map((s) => ({
      expression: s.ScheduleExpression,
      state: s.State,
      window: s.FlexibleTimeWindow.Mode,
      target: s.Target.Arn,
      input: JSON.parse(s.Target.Input) as unknown,
    }));
    const every = (minutes: number) => `rate(${minutes} minute${minutes === 1 ? "" : "s"})`;
    const base = { state: "ENABLED", window: "OFF", target: { "Fn::GetAtt": [monitor, "Arn"] } };
    expect(found).toHaveLength(2);
    expect(found).toContainEqual({
      ...base,
      expression: every(heartbeat.everySeconds / 60),
      input: { task: "heartbeat", intervalSeconds: heartbeat.everySeconds },
    });
    expect(found).toContainEqual({
      ...base,
      expression: verify.everyMinutes === 60 ? "rate(1 hour)" : every(verify.everyMinutes),
      input: { task: "verify" },
    });
  });

  it("lets the schedules' role, trusted by Scheduler for this account, invoke the monitor only", () => {
    const monitor = functionId("Monitor");
    const roles = new Set(schedules().map((s) => s.Target.RoleArn["Fn::GetAtt"][0]));
    expect(roles.size).toBe(1);
    const [role] = [...roles] as [string];
    expect(template.toJSON().Resources[role].Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        {
          Action: "sts:AssumeRole",
          Principal: { Service: "scheduler.amazonaws.com" },
          Condition: { StringEquals: { "aws:SourceAccount": testConfig.account } },
        },
      ],
    });
    expect(statementsOf(role)).toEqual([
      expect.objectContaining({
        Action: "lambda:InvokeFunction",
        Resource: [
          { "Fn::GetAtt": [monitor, "Arn"] },
          { "Fn::Join": ["", [{ "Fn::GetAtt": [monitor, "Arn"] }, ":*"]] },
        ],
      }),
    ]);
  });

  it("grants the monitor what resume, status and the heartbeat need: a subset of admin-api's", () => {
    const monitor = actionsOf("MonitorFunctionRole");
    const adminApi = actionsOf("AdminApiRole");
    for (const action of [
      "dynamodb:GetItem",
      "dynamodb:UpdateItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "secretsmanager:GetSecretValue",
      "events:PutEvents",
      "lambda:ListEventSourceMappings",
      "lambda:UpdateEventSourceMapping",
      "sqs:GetQueueAttributes",
      "sqs:StartMessageMoveTask",
      // Resume hands out what suspension put aside.
      "sqs:ChangeMessageVisibility",
    ]) {
      expect(monitor, action).toContain(action);
    }
    expect([...monitor].filter((action) => !adminApi.has(action))).toEqual([]);
    expect([...monitor].filter((a) => /^states:|PutSecretValue|CreateSecret/.test(a))).toEqual([]);
  });

  it("alarms when the monitor fails", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: functionId("Monitor") } }],
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
  });

  it("alarms in every region when the monitor stops being invoked: no data is breaching (R22)", () => {
    const { everySeconds } = topology.monitor.heartbeat;
    for (const t of [template, failoverTemplate]) {
      const monitor = only(
        t.findResources("AWS::Lambda::Function", {
          Properties: { Description: Match.stringLikeRegexp("^Monitor") },
        }),
      ).id;
      t.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/Lambda",
        MetricName: "Invocations",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: monitor } }],
        Statistic: "Sum",
        // Three heartbeats' time without one invocation: the schedule or the region is gone.
        Period: 3 * everySeconds,
        Threshold: 1,
        ComparisonOperator: "LessThanThreshold",
        TreatMissingData: "breaching",
      });
    }
  });

  it("alarms in the failover's region when production's heartbeats stop arriving there (R20, R22)", () => {
    const { everySeconds } = topology.monitor.heartbeat;
    // The same stack in both regions: whichever is the failover publishes HeartbeatAge.
    for (const t of [template, failoverTemplate]) {
      t.hasResourceProperties("AWS::CloudWatch::Alarm", {
        ComparisonOperator: "GreaterThanThreshold",
        // A few missed intervals: more than three heartbeats' time since the last one arrived.
        Threshold: 3 * everySeconds,
        // Only a failover publishes it; its monitor not running is the Invocations alarm.
        TreatMissingData: "notBreaching",
        Metrics: [
          Match.objectLike({
            Expression: `SELECT MAX(HeartbeatAge) FROM "${METRICS_NAMESPACE}"`,
            ReturnData: true,
          }),
        ],
      });
    }
  });
});

describe("triggers (R17)", () => {
  const ruleArnPattern = (bus: string) => ({
    "Fn::Join": [
      "",
      [
        "arn:",
        { Ref: "AWS::Partition" },
        `:events:${testConfig.primaryRegion}:${testConfig.account}:rule/`,
        { Ref: bus },
        "/mft-trigger-*", // DEFAULT_TRIGGER_RULE_PREFIX, functions/trigger-rules' default
      ],
    ],
  });
  const ids = () => ({
    table: idOf("AWS::DynamoDB::Table", "StoreTable"),
    bus: only(template.findResources("AWS::Events::EventBus")).id,
    rules: functionId("Trigger rules"),
    actions: functionId("Trigger actions"),
    mailTopic: idOf("AWS::SNS::Topic", "TriggersMailTopic"),
    deadLetters: idOf("AWS::SQS::Queue", "TriggersDeadLetters"),
    rulesFailures: idOf("AWS::SQS::Queue", "TriggersRulesFailures"),
    actionsFailures: idOf("AWS::SQS::Queue", "TriggersActionsFailures"),
  });

  it("gives trigger-actions its table, server id and the SNS mail topic (no mailFrom configured)", () => {
    const { table, mailTopic } = ids();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Trigger actions"),
      Timeout: topology.triggerActions.timeoutSeconds,
      MemorySize: topology.triggerActions.memoryMb,
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: table },
          SERVER_ID: testConfig.primaryRegion,
          MAIL_TOPIC_ARN: { Ref: mailTopic },
          MAIL_FROM: Match.absent(),
        }),
      },
    });
    template.hasResourceProperties("AWS::SNS::Topic", {
      DisplayName: "mft-failover",
      KmsMasterKeyId: Match.anyValue(),
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: Match.stringLikeRegexp("^TriggersTriggerActionsRole") }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ["dynamodb:GetItem", "dynamodb:Query"] }),
          Match.objectLike({ Action: "sns:Publish", Resource: { Ref: mailTopic } }),
        ]),
      },
    });
    template.hasOutput("MailTopicArn", { Value: { Ref: mailTopic } });
  });

  it("gives trigger-rules the bus, the actions function, the rule prefix and the target DLQ", () => {
    const { table, bus, actions, deadLetters } = ids();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Trigger rules"),
      Timeout: topology.triggerRules.timeoutSeconds,
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: table },
          SERVER_ID: testConfig.primaryRegion,
          EVENT_BUS_NAME: { Ref: bus },
          TRIGGER_ACTIONS_FUNCTION_ARN: { "Fn::GetAtt": [actions, "Arn"] },
          TRIGGER_RULE_PREFIX: DEFAULT_TRIGGER_RULE_PREFIX,
          TRIGGER_DLQ_ARN: { "Fn::GetAtt": [deadLetters, "Arn"] },
        }),
      },
    });
  });

  it("feeds trigger-rules from the stream, filtered to SERVER / TRIGGER#…, without bisect", () => {
    const { table, rules, rulesFailures } = ids();
    const { stream } = topology.triggerRules;
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: rules },
      EventSourceArn: { "Fn::GetAtt": [table, "StreamArn"] },
      StartingPosition: stream.startingPosition,
      BatchSize: stream.batchSize,
      BisectBatchOnFunctionError: false,
      MaximumRetryAttempts: stream.maximumRetryAttempts,
      MaximumRecordAgeInSeconds: stream.maximumRecordAgeSeconds,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [rulesFailures, "Arn"] } },
      },
    });
    const mapping = only(
      template.findResources("AWS::Lambda::EventSourceMapping", {
        Properties: { FunctionName: { Ref: rules } },
      }),
    ).props as { FilterCriteria: { Filters: { Pattern: string }[] } };
    expect(mapping.FilterCriteria.Filters.map((f) => JSON.parse(f.Pattern))).toEqual([
      { dynamodb: { Keys: { pk: { S: ["SERVER"] }, sk: { S: [{ prefix: "TRIGGER#" }] } } } },
    ]);
  });

  it("keeps the table's stream at two consumers (DynamoDB's limit per shard)", () => {
    const { table } = ids();
    const readers = template.findResources("AWS::Lambda::EventSourceMapping", {
      Properties: { EventSourceArn: { "Fn::GetAtt": [table, "StreamArn"] } },
    });
    expect(Object.keys(readers)).toHaveLength(2);
  });

  it("lets only EventBridge, for this stack's trigger rules, invoke trigger-actions", () => {
    const { bus, actions } = ids();
    const permissions = template.findResources("AWS::Lambda::Permission", {
      Properties: { FunctionName: { "Fn::GetAtt": [actions, "Arn"] } },
    }) as Resources;
    expect(Object.values(permissions).map((p) => p.Properties)).toEqual([
      {
        Action: "lambda:InvokeFunction",
        FunctionName: { "Fn::GetAtt": [actions, "Arn"] },
        Principal: "events.amazonaws.com",
        SourceArn: ruleArnPattern(bus),
      },
    ]);
  });

  it("retries a failed trigger-actions invocation twice, then parks it in an encrypted queue", () => {
    const { actions, actionsFailures, rulesFailures, deadLetters } = ids();
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: actions },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [actionsFailures, "Arn"] } },
      },
    });
    for (const queue of [actionsFailures, rulesFailures, deadLetters]) {
      expect(template.toJSON().Resources[queue].Properties).toMatchObject({
        SqsManagedSseEnabled: true,
      });
      template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    }
  });

  it("lets trigger-rules manage only rules named <prefix>* on its bus, and list rules", () => {
    const { bus } = ids();
    const policy = only(
      template.findResources("AWS::IAM::Policy", {
        Properties: { Roles: [{ Ref: Match.stringLikeRegexp("^TriggersTriggerRulesRole") }] },
      }),
    ).props as {
      PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
    };
    const statements = policy.PolicyDocument.Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: [
          "events:PutRule",
          "events:PutTargets",
          "events:RemoveTargets",
          "events:DeleteRule",
        ],
        Resource: ruleArnPattern(bus),
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: "events:ListRules", Resource: "*" }),
    );
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).not.toContain("iam:PassRole");
    expect(actions).not.toContain("events:PutEvents");
    expect(actions.filter((a) => a.startsWith("events:")).sort()).toEqual(
      [
        "events:DeleteRule",
        "events:ListRules",
        "events:PutRule",
        "events:PutTargets",
        "events:RemoveTargets",
      ].sort(),
    );
  });

  it("lets EventBridge dead-letter only this stack's trigger rules' events", () => {
    const { bus, deadLetters } = ids();
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: deadLetters }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: "sqs:SendMessage",
            Condition: { ArnLike: { "aws:SourceArn": ruleArnPattern(bus) } },
          }),
        ]),
      },
    });
  });

  it('reconciles every hour with {"reconcile": true}', () => {
    const { rules } = ids();
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: `rate(${topology.triggerRules.reconcileEveryHours} hour)`,
      State: "ENABLED",
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [rules, "Arn"] },
          Input: JSON.stringify({ reconcile: true }),
        }),
      ],
    });
    template.hasOutput("TriggerRulesFunctionName", { Value: { Ref: rules } });
  });

  it("alarms on failed actions, failed invocations of both functions, trigger-rules' backlog and every failure queue", () => {
    const { rules, actions, deadLetters, rulesFailures, actionsFailures } = ids();
    for (const queue of [deadLetters, rulesFailures, actionsFailures]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queue, "QueueName"] } }],
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
      });
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      TreatMissingData: "notBreaching",
      Metrics: [
        Match.objectLike({
          Expression: `SELECT SUM(TriggerActionsFailed) FROM "${METRICS_NAMESPACE}"`,
          ReturnData: true,
        }),
      ],
    });
    for (const fn of [rules, actions]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Statistic: "Sum",
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: fn } }],
      });
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "IteratorAge",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: rules } }],
    });
  });

  it("sends email through SES instead when mailFrom is configured", () => {
    const app = new App({
      context: { "aws:cdk:bundling-stacks": [] },
      builtinCloudFormationValidation: false,
    });
    const { primary } = buildCloudApp(
      app,
      { ...testConfig, mailFrom: "mft@mail.example.com", sesConfigurationSet: "mft-triggers" },
      { checks: false },
    );
    const ses = Template.fromStack(primary);
    ses.resourceCountIs("AWS::SNS::Topic", 1); // the alarm topic only
    ses.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Trigger actions"),
      Environment: {
        Variables: Match.objectLike({
          MAIL_FROM: "mft@mail.example.com",
          SES_CONFIGURATION_SET: "mft-triggers",
          MAIL_TOPIC_ARN: Match.absent(),
        }),
      },
    });
    const sesArn = (resource: string) => ({
      "Fn::Join": [
        "",
        [
          "arn:",
          { Ref: "AWS::Partition" },
          `:ses:${testConfig.primaryRegion}:${testConfig.account}:${resource}`,
        ],
      ],
    });
    ses.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: Match.stringLikeRegexp("^TriggersTriggerActionsRole") }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "ses:SendEmail",
            Resource: [
              sesArn("identity/mft@mail.example.com"),
              sesArn("identity/mail.example.com"),
              sesArn("configuration-set/mft-triggers"),
            ],
          }),
        ]),
      },
    });
    expect(Object.keys(ses.toJSON().Outputs)).not.toContain("MailTopicArn");
  });
});

/** The one state machine whose logical id starts with `prefix`. */
/** One Step Functions execution metric of a state machine in an alarm's metric math. */
const executionMetric = (id: string, metric: string) =>
  Match.objectLike({
    MetricStat: Match.objectLike({
      Metric: {
        Namespace: "AWS/States",
        MetricName: metric,
        Dimensions: [{ Name: "StateMachineArn", Value: { Ref: id } }],
      },
      Stat: "Sum",
    }),
    ReturnData: false,
  });

const stateMachineOf = (prefix: string) => {
  const id = idOf("AWS::StepFunctions::StateMachine", prefix);
  return { id, props: template.toJSON().Resources[id].Properties as Record<string, unknown> };
};
/** Every policy statement with a `states:` action, with the roles of its policy. */
const statesStatements = () =>
  Object.values(template.findResources("AWS::IAM::Policy") as Resources).flatMap(({ Properties }) =>
    (Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter((s) =>
      [s.Action].flat().some((a) => a.startsWith("states:")),
    ).map((s) => ({ roles: Properties.Roles, ...s })),
  );

describe("full sync (Synchronize State, R11–R15)", () => {
  const stateMachine = () => stateMachineOf("FullSyncStateMachine");

  it("deploys fullSyncDefinition() verbatim as a STANDARD state machine, the task ARN substituted", () => {
    const { props } = stateMachine();
    expect(props.StateMachineType).toBe("STANDARD");
    expect(props.DefinitionString).toBe(JSON.stringify(fullSyncDefinition(FULL_SYNC_TASK_ARN)));
    expect(props.DefinitionSubstitutions).toEqual({
      FullSyncTaskArn: { "Fn::GetAtt": [functionId("Full sync"), "Arn"] },
    });
    const deployed = JSON.parse(props.DefinitionString as string) as {
      States: Record<string, unknown>;
    };
    const local = fullSyncDefinition("arn:aws:lambda:us-east-1:000000000000:function:local");
    expect(Object.keys(deployed.States)).toEqual(Object.keys(local.States));
    expect(taskStateNames(deployed)).toEqual(taskStateNames(local));
  });

  it("logs ALL events without execution data to an encrypted log group, and traces with X-Ray", () => {
    const { props } = stateMachine();
    const logGroup = idOf("AWS::Logs::LogGroup", "FullSyncLogs");
    expect(props).toMatchObject({
      LoggingConfiguration: {
        Level: "ALL",
        IncludeExecutionData: false,
        Destinations: [
          { CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": [logGroup, "Arn"] } } },
        ],
      },
      TracingConfiguration: { Enabled: true },
    });
    expect(template.toJSON().Resources[logGroup].Properties).toMatchObject({
      KmsKeyId: { "Fn::GetAtt": [idOf("AWS::KMS::Key", "Key"), "Arn"] },
      RetentionInDays: testConfig.logRetentionDays,
    });
  });

  it("logs under /aws/vendedlogs/states/ (no log resource policy per group), named per stack instance", () => {
    const logGroup = idOf("AWS::Logs::LogGroup", "FullSyncLogs");
    const stackIdPart = {
      "Fn::Select": [
        4,
        {
          "Fn::Split": [
            "-",
            { "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "AWS::StackId" }] }] },
          ],
        },
      ],
    };
    expect(template.toJSON().Resources[logGroup].Properties.LogGroupName).toEqual({
      "Fn::Join": [
        "",
        [
          `${VENDED_LOGS_PREFIX}${testConfig.stackPrefix}-${testConfig.primaryRegion}-FullSync-`,
          stackIdPart,
        ],
      ],
    });
    expect(VENDED_LOGS_PREFIX).toBe("/aws/vendedlogs/states/");
  });

  it("lets its role invoke the task function only (logging and tracing aside)", () => {
    const { props } = stateMachine();
    const role = (props.RoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    expect(role).toMatch(/^FullSyncStateMachineRole/);
    const statements = statementsOf(role);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.every((a) => /^(logs|xray):/.test(a) || a === "lambda:InvokeFunction")).toBe(
      true,
    );
    const invoke = statements.filter((s) => [s.Action].flat().includes("lambda:InvokeFunction"));
    expect(invoke).toEqual([
      expect.objectContaining({
        Action: "lambda:InvokeFunction",
        Resource: { "Fn::GetAtt": [functionId("Full sync"), "Arn"] },
      }),
    ]);
  });

  it("is started by admin-api only: STATE_MACHINE_ARN and states:StartExecution on it", () => {
    const { id } = stateMachine();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^The admin API"),
      Environment: { Variables: Match.objectLike({ STATE_MACHINE_ARN: { Ref: id } }) },
    });
    const onThis = statesStatements().filter((s) => JSON.stringify(s.Resource).includes(id));
    expect(onThis).toEqual([
      expect.objectContaining({
        roles: [{ Ref: expect.stringMatching(/^AdminApiRole/) }],
        Action: "states:StartExecution",
        Resource: { Ref: id },
      }),
    ]);
  });

  it("lets the task read/write the table, read the failover password and publish on the bus, no queue", () => {
    const actions = statementsOf("FullSyncTaskRole").flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        "dynamodb:Scan",
        "dynamodb:PutItem",
        "secretsmanager:GetSecretValue",
        "events:PutEvents",
      ]),
    );
    expect(actions.filter((a) => /^(sqs|lambda|states):|PutSecretValue/.test(a))).toEqual([]);
  });

  it("gives a Task its budget and the last page, inside the definition's Task timeout", () => {
    const taskTimeouts = JSON.stringify(fullSyncDefinition(FULL_SYNC_TASK_ARN)).match(
      /"TimeoutSeconds":\d+/g,
    );
    const perTask = Math.min(...(taskTimeouts ?? []).map((t) => Number(t.split(":")[1])));
    expect(fullSyncTaskSize.timeoutSeconds).toBeLessThan(perTask);
  });

  it("alarms on failed or timed-out executions", () => {
    const { id } = stateMachine();
    const stat = (metric: string) => executionMetric(id, metric);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      TreatMissingData: "notBreaching",
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: "FILL(failed, 0) + FILL(timedOut, 0)", ReturnData: true }),
        stat("ExecutionsFailed"),
        stat("ExecutionsTimedOut"),
      ]),
    });
  });
});

describe("failback (R19)", () => {
  const stateMachine = () => stateMachineOf("FailbackStateMachine");
  const task = () => functionId("Failback");
  const actionsOf = (role: string) =>
    new Set(statementsOf(role).flatMap((statement) => [statement.Action].flat()));
  /** The statements of the failback task's role that grant `action`. */
  const granting = (action: string) =>
    statementsOf("FailbackTaskRole").filter((s) => [s.Action].flat().includes(action));

  it("deploys failbackDefinition(<the task function's ARN>) as a STANDARD state machine", () => {
    const { props } = stateMachine();
    expect(props.StateMachineType).toBe("STANDARD");
    expect(props.DefinitionString).toBe(JSON.stringify(failbackDefinition(FAILBACK_TASK_ARN)));
    expect(props.DefinitionSubstitutions).toEqual({
      FailbackTaskArn: { "Fn::GetAtt": [task(), "Arn"] },
    });
    // What Step Functions runs once CloudFormation has substituted the ARN.
    const arn = "arn:aws:lambda:us-east-1:123456789012:function:mft-failback";
    const deployed = (props.DefinitionString as string).split(FAILBACK_TASK_ARN).join(arn);
    expect(JSON.parse(deployed)).toEqual(failbackDefinition(arn));
  });

  it("logs ALL events without execution data to an encrypted vended log group, and traces with X-Ray", () => {
    const { props } = stateMachine();
    const logGroup = idOf("AWS::Logs::LogGroup", "FailbackLogs");
    expect(props).toMatchObject({
      LoggingConfiguration: {
        Level: "ALL",
        IncludeExecutionData: false,
        Destinations: [
          { CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": [logGroup, "Arn"] } } },
        ],
      },
      TracingConfiguration: { Enabled: true },
    });
    const logProps = template.toJSON().Resources[logGroup].Properties;
    expect(logProps).toMatchObject({
      KmsKeyId: { "Fn::GetAtt": [idOf("AWS::KMS::Key", "Key"), "Arn"] },
      RetentionInDays: testConfig.logRetentionDays,
    });
    expect(logProps.LogGroupName["Fn::Join"][1][0]).toBe(
      `${VENDED_LOGS_PREFIX}${testConfig.stackPrefix}-${testConfig.primaryRegion}-Failback-`,
    );
  });

  it("lets its role invoke the task function only (logging and tracing aside)", () => {
    const { props } = stateMachine();
    const role = (props.RoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    expect(role).toMatch(/^FailbackStateMachineRole/);
    const statements = statementsOf(role);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.every((a) => /^(logs|xray):/.test(a) || a === "lambda:InvokeFunction")).toBe(
      true,
    );
    expect(statements.filter((s) => [s.Action].flat().includes("lambda:InvokeFunction"))).toEqual([
      expect.objectContaining({
        Action: "lambda:InvokeFunction",
        Resource: { "Fn::GetAtt": [task(), "Arn"] },
      }),
    ]);
  });

  it("is started by admin-api only: FAILBACK_STATE_MACHINE_ARN and states:StartExecution on it", () => {
    const { id } = stateMachine();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^The admin API"),
      Environment: { Variables: Match.objectLike({ FAILBACK_STATE_MACHINE_ARN: { Ref: id } }) },
    });
    const onThis = statesStatements().filter((s) => JSON.stringify(s.Resource).includes(id));
    expect(onThis).toEqual([
      expect.objectContaining({
        roles: [{ Ref: expect.stringMatching(/^AdminApiRole/) }],
        Action: "states:StartExecution",
        Resource: { Ref: id },
      }),
    ]);
    // Nothing in the stack may do more with any state machine than admin-api's StartExecution.
    const machines = Object.keys(template.findResources("AWS::StepFunctions::StateMachine"));
    expect(statesStatements()).toEqual(
      machines.map((machine) =>
        expect.objectContaining({
          roles: [{ Ref: expect.stringMatching(/^AdminApiRole/) }],
          Action: "states:StartExecution",
          Resource: { Ref: machine },
        }),
      ),
    );
  });

  it("gives a Task's invocation less time than the definition's Task TimeoutSeconds", () => {
    const { props } = stateMachine();
    const deployed = JSON.parse(props.DefinitionString as string) as {
      States: Record<string, { Type: string; TimeoutSeconds?: number }>;
    };
    const tasks = Object.values(deployed.States).filter((state) => state.Type === "Task");
    expect(tasks.length).toBeGreaterThan(0);
    for (const state of tasks) {
      expect(state.TimeoutSeconds).toBeDefined();
      expect(failbackTaskSize.timeoutSeconds).toBeLessThan(state.TimeoutSeconds ?? 0);
    }
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Failback"),
      Timeout: failbackTaskSize.timeoutSeconds,
      MemorySize: failbackTaskSize.memoryMb,
    });
  });

  it("lets the task read/write the table, read both passwords, publish on the bus and resume sync", () => {
    const table = idOf("AWS::DynamoDB::Table", "StoreTable");
    const bus = only(template.findResources("AWS::Events::EventBus")).id;
    const queue = queueId({ FifoQueue: true, RedrivePolicy: Match.anyValue() });
    const dlq = queueId({ FifoQueue: true, RedrivePolicy: Match.absent() });
    const onTable = { "Fn::GetAtt": [table, "Arn"] };
    // Run record and lock (GetItem, conditional PutItem), settings, verify's scan and queries.
    for (const action of [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Scan",
      "dynamodb:Query",
    ]) {
      expect(
        granting(action).some((s) => JSON.stringify(s.Resource).includes(JSON.stringify(onTable))),
        action,
      ).toBe(true);
    }
    expect(granting("events:PutEvents")).toEqual([
      expect.objectContaining({ Resource: { "Fn::GetAtt": [bus, "Arn"] } }),
    ]);
    // Step 6: resumeSync as POST /api/failover/resume does it.
    const mapping = granting("lambda:UpdateEventSourceMapping");
    expect(mapping).toHaveLength(1);
    expect(JSON.stringify(mapping[0]?.Resource)).toMatch(/"Ref":"PipelineForwardSqsEventSource/);
    expect(JSON.stringify(granting("sqs:StartMessageMoveTask"))).toContain(
      JSON.stringify({ "Fn::GetAtt": [dlq, "Arn"] }),
    );
    expect(JSON.stringify(granting("sqs:ChangeMessageVisibility"))).toContain(
      JSON.stringify({ "Fn::GetAtt": [queue, "Arn"] }),
    );
  });

  it("grants the task a subset of admin-api's actions: no state machine, no secret write", () => {
    const failback = actionsOf("FailbackTaskRole");
    const adminApi = actionsOf("AdminApiRole");
    expect([...failback].filter((action) => !adminApi.has(action))).toEqual([]);
    expect(
      [...failback].filter((a) => /^states:|PutSecretValue|CreateSecret|DeleteSecret/.test(a)),
    ).toEqual([]);
  });

  it("alarms on failed, timed-out or aborted executions", () => {
    const { id } = stateMachine();
    const stat = (metric: string) => executionMetric(id, metric);
    const alarms = template.findResources("AWS::CloudWatch::Alarm", {
      Properties: {
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
        TreatMissingData: "notBreaching",
        AlarmActions: [{ Ref: alarmTopicId() }],
        Metrics: Match.arrayWith([
          Match.objectLike({
            Expression: "FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)",
            ReturnData: true,
          }),
          stat("ExecutionsFailed"),
          stat("ExecutionsTimedOut"),
          stat("ExecutionsAborted"),
        ]),
      },
    });
    expect(Object.keys(alarms)).toHaveLength(1);
  });

  it("outputs the state machine's ARN", () => {
    template.hasOutput("FailbackStateMachineArn", { Value: { Ref: stateMachine().id } });
  });
});
