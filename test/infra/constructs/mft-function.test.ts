import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import {
  FAILBACK_PRODUCTION_PASSWORD_SECRET,
  failbackTaskSize,
} from "../../../infra/cloud/constructs/failback.ts";
import { fullSyncTaskSize } from "../../../infra/cloud/constructs/full-sync.ts";
import { FAILOVER_PASSWORD_SECRET } from "../../../infra/cloud/constructs/pipeline.ts";
import { topology } from "../../../infra/topology.ts";
import { testConfig } from "../cloud-app.ts";
import { secretStoreUses } from "../source-scan.ts";
import {
  failoverTemplate,
  loadTemplates,
  only,
  queueId,
  type Resources,
  statementsOf,
  template,
} from "./template.ts";

beforeAll(loadTemplates, 180_000);

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
      "HISTORY_TABLE_NAME",
      "HISTORY_DAYS",
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
