import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import type { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createAdminApi } from "../../functions/admin-api/app.ts";
import { createFailbackHandler } from "../../functions/failback/app.ts";
import { failbackDefinition } from "../../functions/failback/definition.ts";
import { createFullSyncHandler } from "../../functions/full-sync/app.ts";
import { fullSyncDefinition, taskStateNames } from "../../functions/full-sync/definition.ts";
import { createMonitorHandler, type MonitorEvent } from "../../functions/monitor/app.ts";
import { type ServerServices, serverServices } from "../../functions/server.ts";
import { configTableDefinition } from "../../shared/adapters/config-table.ts";
import { DynamoBulkStore } from "../../shared/adapters/dynamo-bulk-store.ts";
import { DynamoConfigStore } from "../../shared/adapters/dynamo-config-store.ts";
import { FileSecretStore } from "../../shared/adapters/file-secret-store.ts";
import { type QueueAddresses, SqsChangeQueue } from "../../shared/adapters/sqs-change-queue.ts";
import { fixedAdmin } from "../../shared/auth/admin.ts";
import type { Credentials } from "../../shared/ports.ts";
import { recoverInterruptedRun } from "../../shared/sync/full/api.ts";
import { topology } from "../topology.ts";
import { startDynamoDbLocal } from "./dynamodb-local.ts";
import type { LocalEventBus } from "./event-bus.ts";
import { type HttpApi, serveHttpApi } from "./http-api.ts";
import { lambdaContext } from "./lambda-context.ts";
import { LocalMetrics } from "./metrics.ts";
import { createQueues, LocalForwardSwitch, type PipelineStats, startPipeline } from "./pipeline.ts";
import { freePort } from "./ports.ts";
import {
  displayName,
  RegionEventBus,
  type RegionId,
  type RegionState,
  RegionSwitch,
  type RegionView,
  regionId,
  withRegionControl,
} from "./region-control.ts";
import { startSchedules } from "./schedules.ts";
import { seedSampleConfiguration } from "./seed.ts";
import { type LocalMailServer, startSmtpServer } from "./smtp.ts";
import { startSqsServer } from "./sqs-server.ts";
import { LocalStateMachine } from "./step-functions.ts";
import { type LocalTriggers, startLocalTriggers, withLocalRoutes } from "./triggers.ts";

/** Local mode's fixed AWS settings: DynamoDB Local wants alphanumeric keys; nothing leaves 127.0.0.1. */
export const LOCAL_AWS = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
} as const;

/** SDK settings of a local region; its region name selects its own DynamoDB Local database. */
export interface LocalAwsConfig {
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface LocalOptions {
  readonly primaryPort: number;
  readonly failoverPort: number;
  /** Keeps tables and secrets across restarts; in memory when absent. */
  readonly dataDir?: string;
  readonly seed: boolean;
  /** The admin password of both regions; generated when absent. */
  readonly adminPassword?: string;
  readonly logLevel?: LogLevel;
  /** Sees every AWS SDK client the runtime creates (benchmarks count billable requests). */
  readonly instrument?: (client: DynamoDBClient | SQSClient | DynamoDBStreamsClient) => void;
  /** The local mailbox's SMTP port (MFT_SMTP_PORT); a free one when absent or 0. */
  readonly smtpPort?: number;
  /** The heartbeat's interval (MFT_HEARTBEAT_SECONDS); the topology's (60 s) when absent. */
  readonly heartbeatSeconds?: number;
  /**
   * A DynamoDB Local already running, to use instead of starting one (tests share one JVM).
   * `database`, an alphanumeric access key ID, gives this runtime databases of its own there;
   * its tables are deleted when it stops. Not with `dataDir`.
   */
  readonly dynamoDb?: { readonly endpoint: string; readonly database: string };
}

export interface LocalRegion {
  readonly name: "primary" | "failover";
  readonly serverId: string;
  readonly url: string;
  readonly tableName: string;
  /** For SDK clients of this region's DynamoDB (at the runtime's `dynamoEndpoint`). */
  readonly awsConfig: LocalAwsConfig;
  readonly services: ServerServices;
  readonly queues: QueueAddresses;
  /** This region's EventBridge bus. */
  readonly bus: LocalEventBus;
  /** What this region published to CloudWatch. */
  readonly metrics: LocalMetrics;
  /** Takes the region's admin API off the network and back (a failover outage on one machine). */
  setOnline(online: boolean): Promise<void>;
  /**
   * Takes the whole region out, as a real outage would, and back (R24): its admin API, stream
   * and queue pollers, scheduled jobs, state machines and trigger deliveries stop; its table and
   * queues keep their data. Back up, the stream poller resumes after the last change it handled.
   */
  setDown(down: boolean): Promise<void>;
  /** up, offline (its API only) or down. */
  state(): RegionState;
  /** Invocations of the region's capture and forward functions so far. */
  pipelineStats(): PipelineStats;
  /** Starts the stream → capture → queue → forward pipeline (once the regions are configured). */
  startPipeline(): Promise<void>;
  /** The trigger rules on this region's bus and the runs they recorded (R17). */
  readonly triggers: LocalTriggers;
  /** The full-sync state machine of this region (R12), run in this process. */
  readonly fullSync: LocalStateMachine;
  /** The failback state machine of this region (R19), run in this process. */
  readonly failback: LocalStateMachine;
}

export interface LocalRuntime {
  readonly primary: LocalRegion;
  readonly failover: LocalRegion;
  readonly admin: Credentials;
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  /** The SMTP server where Send Email actions go (both regions). */
  readonly mail: LocalMailServer;
  /** `region.setDown` by name: `production` or `primary`, or `failover`. */
  setRegionDown(name: RegionId | "production", down: boolean): Promise<void>;
  /** Each region's name, URL and state (`GET /_local/regions`). */
  regions(): RegionView[];
  stop(): Promise<void>;
}

/**
 * Both regions on one machine: one DynamoDB Local (a database per region) and one SQS server
 * hold both regions' tables and queues; each region serves its admin API through the same
 * handler as the cloud.
 */
export async function startLocal(options: LocalOptions): Promise<LocalRuntime> {
  const admin: Credentials = {
    username: "admin",
    password: options.adminPassword ?? randomBytes(12).toString("base64url"),
  };
  const stack: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const close of stack.reverse()) await close().catch(() => {});
  };
  try {
    if (options.dynamoDb && options.dataDir)
      throw new Error("dynamoDb and dataDir: a shared DynamoDB Local keeps no tables on disk");
    const dbPath = options.dataDir ? join(options.dataDir, "dynamodb") : undefined;
    // Owner only: the tables hold password hashes (R4, R25).
    if (dbPath) await mkdir(dbPath, { recursive: true, mode: 0o700 });
    const { dynamoDb } = options;
    const [dynamo, sqs] = await Promise.all([
      dynamoDb
        ? { endpoint: dynamoDb.endpoint, stop: async () => {} }
        : freePort().then((port) => startDynamoDbLocal({ port, ...(dbPath ? { dbPath } : {}) })),
      startSqsServer(0),
    ]);
    stack.push(dynamo.stop, sqs.stop);
    const mail = await startSmtpServer({ port: options.smtpPort ?? 0 });
    stack.push(mail.stop);
    const sqsClient = new SQSClient({ ...LOCAL_AWS, endpoint: sqs.endpoint });
    options.instrument?.(sqsClient);
    const regions = new Map<string, LocalRegion>();
    const secretsDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "mft-failover-")));
    if (!options.dataDir) stack.push(() => rm(secretsDir, { recursive: true, force: true }));
    const logger = new Logger({
      serviceName: "mft-failover",
      logLevel: options.logLevel ?? "WARN",
    });

    const startRegion = async (
      name: LocalRegion["name"],
      port: number,
    ): Promise<[LocalRegion, boolean]> => {
      const tableName = `mft-${name}-config`;
      const awsConfig: LocalAwsConfig = {
        region: `local-${name}`,
        credentials: dynamoDb
          ? { ...LOCAL_AWS.credentials, accessKeyId: dynamoDb.database }
          : LOCAL_AWS.credentials,
      };
      const dynamoClient = new DynamoDBClient({ ...awsConfig, endpoint: dynamo.endpoint });
      options.instrument?.(dynamoClient);
      const [created, queues] = await Promise.all([
        ensureTable(dynamoClient, tableName),
        createQueues(sqsClient, name),
      ]);
      // Run after all that starts below has stopped (the stack runs backwards).
      if (dynamoDb)
        stack.push(async () => {
          await dynamoClient.send(new DeleteTableCommand({ TableName: tableName }));
        });
      const bus = new RegionEventBus(`local-${name}`);
      const forwarding = new LocalForwardSwitch();
      const metrics = new LocalMetrics();
      const services = serverServices({
        store: new DynamoConfigStore(dynamoClient, tableName),
        bulk: new DynamoBulkStore(dynamoClient, tableName),
        secrets: new FileSecretStore(join(secretsDir, name)),
        serverId: `local-${name}`,
        queue: new SqsChangeQueue(sqsClient, queues),
        forwarding,
        events: bus,
        metrics,
      });
      const triggers = startLocalTriggers({
        name,
        bus,
        config: services.config,
        mailer: mail.mailer,
        logger,
        dynamo: dynamoClient,
        tableName,
        dynamoEndpoint: dynamo.endpoint,
        awsConfig,
        ...(options.instrument ? { instrument: options.instrument } : {}),
      });
      // Step Functions: the deployed definition, each Task bound to the full-sync Lambda's handler.
      const definition = fullSyncDefinition(
        `arn:aws:lambda:${awsConfig.region}:000000000000:function:mft-${name}-full-sync`,
      );
      const fullSync = new LocalStateMachine({
        definition,
        taskStates: taskStateNames(definition),
        handler: createFullSyncHandler({ ...services, logger }),
        functionName: `${name}-full-sync`,
        timeoutMs: 300_000,
        onExecutionError: (syncId, error) => {
          // A run that failed went through RecordFailure to FullSyncFailed: already recorded.
          if ((error as { cause?: { name?: string } }).cause?.name === "FullSyncFailed") return;
          logger.error("full sync execution failed", { syncId, error: String(error) });
        },
      });
      // The failback state machine (R19), the same way.
      const failbackStates = failbackDefinition(
        `arn:aws:lambda:${awsConfig.region}:000000000000:function:mft-${name}-failback`,
      );
      const failback = new LocalStateMachine({
        definition: failbackStates,
        taskStates: taskStateNames(failbackStates),
        handler: createFailbackHandler({ ...services, logger }),
        functionName: `${name}-failback`,
        timeoutMs: 300_000,
        idField: "failbackId",
        onExecutionError: (failbackId, error) => {
          if ((error as { cause?: { name?: string } }).cause?.name === "FailbackFailed") return;
          logger.error("failback execution failed", { failbackId, error: String(error) });
        },
      });
      await recoverInterruptedRun(services);
      const api: HttpApi = await serveHttpApi({
        port,
        functionName: `${name}-admin-api`,
        // `/_local/...` (mailbox, trigger runs, publish an event) is local mode's, not the Lambda's.
        handler: withRegionControl(
          withLocalRoutes(
            createAdminApi({
              ...services,
              fullSyncRunner: fullSync,
              failbackRunner: failback,
              // A failback's default `production`: this server, as the failover reaches it.
              get ownAddress() {
                const url = new URL(api.url);
                return {
                  host: url.hostname,
                  port: Number(url.port),
                  useTls: false,
                  ...admin,
                };
              },
              admin: fixedAdmin(admin),
              region: `local-${name}`,
              logger,
            }),
            { admin, bus, mail, triggers },
          ),
          admin,
          name,
          {
            list: () => listRegions(regions),
            apply: async (id, action) => {
              const target = regions.get(id);
              if (!target) throw new Error(`region ${id} is not running`);
              if (action === "down" || action === "up") await target.setDown(action === "down");
              else await target.setOnline(action === "online");
              return viewOf(target);
            },
          },
        ),
      });
      stack.push(
        api.stop,
        () => fullSync.stop(),
        () => failback.stop(),
      );
      const pipelineStats: PipelineStats = { captureInvocations: 0, forwardInvocations: 0 };
      /** Where the stream poller stopped when the region went down: `up` resumes there. */
      let streamPositions: Readonly<Record<string, string>> = {};
      /** The pipeline and the schedules while they run. */
      let work: { stop(): Promise<void> } | undefined;
      stack.push(async () => {
        await work?.stop();
        work = undefined;
      });
      const startPipelineOf = async () => {
        await triggers.start();
        const pipeline = await startPipeline({
          services,
          dynamo: dynamoClient,
          dynamoEndpoint: dynamo.endpoint,
          sqs: sqsClient,
          tableName,
          queues,
          forwarding,
          logger,
          awsConfig,
          ...(options.instrument ? { instrument: options.instrument } : {}),
          resumeFrom: streamPositions,
          stats: pipelineStats,
        });
        // EventBridge Scheduler: the heartbeat (R20) and verify (R21) schedules of the monitor.
        const monitor = createMonitorHandler({ ...services, logger });
        const heartbeatSeconds =
          options.heartbeatSeconds ?? topology.monitor.heartbeat.everySeconds;
        const schedules = startSchedules<MonitorEvent>(
          [
            {
              everyMs: heartbeatSeconds * 1000,
              input: { task: "heartbeat", intervalSeconds: heartbeatSeconds },
            },
            { everyMs: topology.monitor.verify.everyMinutes * 60_000, input: { task: "verify" } },
          ],
          (input) =>
            monitor(input, lambdaContext("monitor", topology.monitor.timeoutSeconds * 1000)),
          (error) => logger.warn("monitor failed", { error: String(error) }),
        );
        work = {
          async stop() {
            await schedules.stop();
            await Promise.all([pipeline.stop(), triggers.stop()]);
            streamPositions = pipeline.positions();
          },
        };
      };
      // A region loss (R24): API first, so nothing is acknowledged after it; then the rest.
      const power = new RegionSwitch({
        setApiOnline: api.setOnline,
        stopWork: async () => {
          await work?.stop();
          work = undefined;
          await Promise.all([fullSync.stop(), failback.stop()]);
          bus.delivering = false;
        },
        startWork: async () => {
          bus.delivering = true;
          // The full sync that the outage cut off is recorded as failed and its lock released.
          await recoverInterruptedRun(services);
          await startPipelineOf();
        },
      });
      return [
        {
          name,
          serverId: `local-${name}`,
          url: api.url,
          tableName,
          awsConfig,
          queues,
          services,
          bus,
          metrics,
          triggers,
          fullSync,
          failback,
          setOnline: async (online) => {
            await power.setOnline(online);
          },
          setDown: async (down) => {
            await power.setDown(down);
          },
          state: () => power.state,
          pipelineStats: () => pipelineStats,
          startPipeline: startPipelineOf,
        },
        created,
      ];
    };
    const [[primary, primaryIsNew], [failover]] = await Promise.all([
      startRegion("primary", options.primaryPort),
      startRegion("failover", options.failoverPort),
    ]);
    regions.set("primary", primary).set("failover", failover);
    if (primaryIsNew) {
      await pointAtFailover(primary, failover, admin);
      if (options.seed) await seedSampleConfiguration(primary.services.config);
    }
    await Promise.all([primary.startPipeline(), failover.startPipeline()]);
    return {
      primary,
      failover,
      admin,
      dynamoEndpoint: dynamo.endpoint,
      sqsEndpoint: sqs.endpoint,
      mail,
      setRegionDown: async (name, down) => {
        const id = regionId(name);
        const region = id && regions.get(id);
        if (!region) throw new Error(`no region ${name}: production or failover`);
        await region.setDown(down);
      },
      regions: () => listRegions(regions),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function viewOf(region: LocalRegion): RegionView {
  return {
    name: displayName(region.name),
    id: region.name,
    url: region.url,
    state: region.state(),
  };
}

function listRegions(regions: Map<string, LocalRegion>): RegionView[] {
  return [...regions.values()].map(viewOf);
}

/** SPEC §8: production's failover settings point at the local failover, automatic sync on. */
async function pointAtFailover(primary: LocalRegion, failover: LocalRegion, admin: Credentials) {
  const url = new URL(failover.url);
  await primary.services.failover.put({
    enabled: true,
    host: url.hostname,
    port: Number(url.port),
    useTls: false,
    username: admin.username,
    password: admin.password,
    autoSync: true,
  });
}

/** Creates the table unless it exists (MFT_DATA_DIR); true when it was created. */
async function ensureTable(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new CreateTableCommand(configTableDefinition(tableName)));
  } catch (error) {
    if (error instanceof ResourceInUseException) return false;
    throw error;
  }
  // DynamoDB Local creates tables at once, but AWS's contract is to wait for ACTIVE.
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
