import { join } from "node:path";
import { ArnFormat, CfnElement, Duration, Stack } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IEventBus } from "aws-cdk-lib/aws-events";
import {
  type Grant,
  type IGrantable,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { acknowledge, GUARD, NAG } from "../compliance.ts";
import { type LogGroupDefaults, stackLogGroup } from "./log-group.ts";

/** The repository root: entries in infra/topology.ts are relative to it. */
export const REPO_ROOT = join(import.meta.dirname, "..", "..", "..");

/** ESM bundles have no `require`; some dependencies still call it, so define one. */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __mftCreateRequire } from 'node:module'; const require = __mftCreateRequire(import.meta.url);";

/**
 * Files a function's bundle carries besides its code, by entry: the admin API serves the web
 * console (functions/admin-api/console.ts reads it from `console/` next to the handler), built by
 * the same function local mode builds it with.
 */
const BUNDLED_FILES: Readonly<Record<string, (outputDir: string) => string[]>> = {
  "functions/admin-api/handler.ts": (outputDir) => [
    `cd ${JSON.stringify(REPO_ROOT)} && node --import tsx functions/admin-api/console-build.ts ${JSON.stringify(join(outputDir, "console"))}`,
  ],
};

/** What every function of one stack shares; the stack decides, the functions follow. */
export interface MftFunctionDefaults extends LogGroupDefaults {
  /**
   * X-Ray for each function. `ACTIVE` samples on its own: the first request each second and
   * 5% beyond, which for a trickle of changes is nearly every one, each a billed trace.
   * `PASS_THROUGH` traces only what a traced caller sampled (the state machines' tasks).
   * @default Tracing.PASS_THROUGH
   */
  readonly tracing?: Tracing;
}

export interface MftFunctionProps extends MftFunctionDefaults {
  /** The handler file relative to the repository root: an `entry` of infra/topology.ts. */
  readonly entry: string;
  /** From infra/topology.ts. */
  readonly timeoutSeconds: number;
  /** From infra/topology.ts. */
  readonly memoryMb: number;
  /** @default - none */
  readonly description?: string;
  /**
   * A fixed function name, for a function whose own environment must name it.
   * @default - a name CloudFormation generates
   */
  readonly functionName?: string;
}

/**
 * `lookup`: GetItem and Query only (what a read-only ConfigService issues: get and list);
 * `read`: CDK's read grant (adds Scan, BatchGetItem, …); `readWrite`: read and write;
 * `apply`: readWrite and the PartiQL INSERT/UPDATE statements of the receiving side's batched
 * conditional apply (`applyBatch`, BatchExecuteStatement), which CDK's grants do not include.
 */
export type TableAccess = "lookup" | "read" | "readWrite" | "apply";
export type QueueAccess = "send" | "consume" | "attributes";

/**
 * Every Lambda of the stack, with its shared defaults in one place: Node 24 on arm64, ESM
 * bundled locally by esbuild (no Docker), source maps on, X-Ray as configured, its own log group
 * with retention, and its own role that starts with nothing but writing to that log group.
 * The `bind*` helpers grant least privilege and set the environment variable in one call, so a
 * handler's env contract and its permissions cannot drift apart.
 */
export class MftFunction extends NodejsFunction {
  readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: MftFunctionProps) {
    const logGroup = stackLogGroup(scope, `${id}Logs`, { defaults: props });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of ${id}: its log group plus what its bind* calls grant`,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: join(REPO_ROOT, props.entry),
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: Duration.seconds(props.timeoutSeconds),
      memorySize: props.memoryMb,
      tracing: props.tracing ?? Tracing.PASS_THROUGH,
      role,
      logGroup,
      ...(props.description ? { description: props.description } : {}),
      ...(props.functionName ? { functionName: props.functionName } : {}),
      environment: { NODE_OPTIONS: "--enable-source-maps" },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: "node22",
        mainFields: ["module", "main"],
        banner: ESM_REQUIRE_BANNER,
        sourceMap: true,
        minify: true,
        // The pinned SDK versions go with the code instead of whatever the runtime ships.
        bundleAwsSDK: true,
        ...(BUNDLED_FILES[props.entry]
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) =>
                  BUNDLED_FILES[props.entry]?.(outputDir) ?? [],
              },
            }
          : {}),
      },
    });
    this.executionRole = role;
    acknowledge(role, `${NAG}::AwsSolutions-IAM5[Resource::*]`, {
      reason:
        "X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) has no resource-level " +
        "permissions, so CDK's tracing grant needs Resource '*'; every other statement names its resource.",
    });
    acknowledge(this, `${GUARD}::lambda_inside_vpc_check`, {
      reason:
        "CT.LAMBDA.PR.3: no function reaches a private resource; all they call are AWS APIs and " +
        "the peer's public HTTPS endpoint. A VPC would need NAT gateways in two regions (cost, " +
        "more failure points) for no isolation gain; access is by IAM, and the API by Basic auth.",
    });
    acknowledge(this, `${NAG}::AwsSolutions-L1`, {
      reason:
        "nodejs24.x on purpose: the suite, local mode and the CLI run on the same Node major (the " +
        "`node` package pins it); a newer line is a deliberate upgrade of all of them, not a lint fix.",
    });
  }

  /** Sets an environment variable and, when given, grants what reading it implies. */
  bindEnv(name: string, value: string, grant?: (grantee: IGrantable) => Grant | undefined): this {
    this.addEnvironment(name, value);
    grant?.(this);
    return this;
  }

  /** `SERVER_ID`: this server's id, the origin stamped on its changes (R18): the region name. */
  bindServerId(serverId: string = Stack.of(this).region): this {
    return this.bindEnv("SERVER_ID", serverId);
  }

  /** `TABLE_NAME` plus lookup, read or read/write on the table and its index (and stream-free). */
  bindTable(table: ITable, access: TableAccess): this {
    const cfnTable = table.node.defaultChild;
    if (CfnElement.isCfnElement(cfnTable)) {
      const stack = Stack.of(table);
      const logicalId: unknown = stack.resolve(stack.getLogicalId(cfnTable));
      acknowledge(
        this.executionRole,
        `${NAG}::AwsSolutions-IAM5[Resource::<${String(logicalId)}.Arn>/index/*]`,
        {
          reason:
            "CDK's table grant covers the table's indexes as <table>/index/*; the config table has " +
            "one index (domains), so the wildcard names exactly that table's index.",
        },
      );
    }
    return this.bindEnv("TABLE_NAME", table.tableName, (grantee) => {
      if (access === "lookup") return table.grant(grantee, "dynamodb:GetItem", "dynamodb:Query");
      if (access === "read") return table.grantReadData(grantee);
      if (access === "apply")
        table.grant(grantee, "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate");
      return table.grantReadWriteData(grantee);
    });
  }

  /**
   * A queue's URL (or ARN, with `value: "arn"`) in `name`, with the access the function needs:
   * `send` (SendMessage), `consume` (receive/delete; event sources grant this themselves) or
   * `attributes` (GetQueueAttributes only, for depth and age in the status).
   */
  bindQueue(
    name: string,
    queue: IQueue,
    access: QueueAccess | undefined,
    value: "url" | "arn" = "url",
  ): this {
    return this.bindEnv(name, value === "url" ? queue.queueUrl : queue.queueArn, (grantee) => {
      if (access === "send") return queue.grantSendMessages(grantee);
      if (access === "consume") return queue.grantConsumeMessages(grantee);
      if (access === "attributes") return queue.grant(grantee, "sqs:GetQueueAttributes");
      return undefined;
    });
  }

  /** `EVENT_BUS_NAME` plus events:PutEvents on that bus only. */
  bindEventBus(bus: IEventBus): this {
    return this.bindEnv("EVENT_BUS_NAME", bus.eventBusName, (grantee) =>
      bus.grantPutEventsTo(grantee),
    );
  }

  /** A secret's ARN in `name` (e.g. `ADMIN_SECRET_ID`) plus read access to it. */
  bindSecret(name: string, secret: ISecret): this {
    return this.bindEnv(name, secret.secretArn, (grantee) => secret.grantRead(grantee));
  }

  /**
   * `SECRET_PREFIX` plus access to the named secrets under it (the SecretStore's
   * `${prefix}${name}`). The secrets are created at run time (PUT /api/failover), so the grant
   * names each by ARN pattern twice: with Secrets Manager's 6-character suffix (a secret that
   * exists) and without it (one that does not exist yet: IAM then sees the bare name, and
   * without that grant the store's first read or write is AccessDenied, not ResourceNotFound).
   */
  bindSecretPrefix(prefix: string, names: readonly string[], access: "read" | "readWrite"): this {
    const stack = Stack.of(this);
    const resources = names.flatMap((name) =>
      [`${prefix}${name}`, `${prefix}${name}-??????`].map((resourceName) =>
        stack.formatArn({
          service: "secretsmanager",
          resource: "secret",
          resourceName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    );
    const actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"];
    if (access === "readWrite") {
      actions.push("secretsmanager:PutSecretValue", "secretsmanager:CreateSecret");
    }
    this.addToRolePolicy(new PolicyStatement({ actions, resources }));
    return this.bindEnv("SECRET_PREFIX", prefix);
  }
}
