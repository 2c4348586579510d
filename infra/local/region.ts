import { join } from "node:path";
import type { Logger } from "@aws-lambda-powertools/logger";
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
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
import { DynamoHistoryStore } from "../../shared/adapters/dynamo-history-store.ts";
import { FileSecretStore } from "../../shared/adapters/file-secret-store.ts";
import { historyTableDefinition } from "../../shared/adapters/history-table.ts";
import { type QueueAddresses, SqsChangeQueue } from "../../shared/adapters/sqs-change-queue.ts";
import { fixedAdmin } from "../../shared/auth/admin.ts";
import type { Credentials } from "../../shared/ports.ts";
import { recoverInterruptedRun } from "../../shared/sync/full/api.ts";
import { topology } from "../topology.ts";
import { type InstrumentClient, LOCAL_AWS, type LocalAwsConfig } from "./aws-config.ts";
import type { LocalEventBus } from "./event-bus.ts";
import { type HttpApi, serveHttpApi } from "./http-api.ts";
import { lambdaContext } from "./lambda-context.ts";
import { LocalMetrics } from "./metrics.ts";
import {
  createQueues,
  emptyPipelineStats,
  LocalForwardSwitch,
  type PipelineStats,
  startPipeline,
} from "./pipeline.ts";
import {
  type RegionControl,
  RegionEventBus,
  type RegionId,
  type RegionState,
  RegionSwitch,
  withRegionControl,
} from "./region-control.ts";
import { startSchedules } from "./schedules.ts";
import type { LocalMailServer } from "./smtp.ts";
import { LocalStateMachine, type LocalStateMachineOptions } from "./step-functions.ts";
import { type LocalTriggers, startLocalTriggers, withLocalRoutes } from "./triggers.ts";

export interface LocalRegion {
  readonly name: RegionId;
  readonly serverId: string;
  readonly url: string;
  readonly tableName: string;
  /** Its history table (R26). */
  readonly historyTableName: string;
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
  /** Once suspended sync has disabled forward's source: no invocation runs, none starts. */
  forwardPaused(): Promise<void>;
  /** Starts the stream → capture → queue → forward pipeline (once the regions are configured). */
  startPipeline(): Promise<void>;
  /** The trigger rules on this region's bus and the runs they recorded (R17). */
  readonly triggers: LocalTriggers;
  /** The full-sync state machine of this region (R12), run in this process. */
  readonly fullSync: LocalStateMachine;
  /** The failback state machine of this region (R19), run in this process. */
  readonly failback: LocalStateMachine;
}

/** What both regions share: the emulators, the mailbox, the admin and the logger. */
export interface RegionEnvironment {
  readonly dynamoEndpoint: string;
  /** A shared DynamoDB Local's database (access key ID) for this runtime; its tables go at stop. */
  readonly dynamoDatabase?: string;
  readonly sqs: SQSClient;
  readonly mail: LocalMailServer;
  readonly admin: Credentials;
  readonly logger: Logger;
  /** Each region keeps its secrets in a directory of its own under this one. */
  readonly secretsDir: string;
  readonly instrument?: InstrumentClient;
  /** The heartbeat's interval; the topology's when absent. */
  readonly heartbeatSeconds?: number;
  /** How long history keeps a change (R26); 7 days when absent. */
  readonly historyDays?: number;
  /** Both regions' wall clock (`ServerPorts.now`); `Date.now` when absent. */
  readonly now?: () => number;
  /** Both regions, as `/_local/regions` lists and switches them. */
  readonly control: RegionControl;
  /** Registers what stopping the runtime closes (in the reverse order). */
  onStop(close: () => Promise<void>): void;
}

/**
 * One region: its table and queues, the services over them, its triggers and state machines,
 * its admin API, then the work that runs while it is up (pipeline, schedules) and the switch
 * that takes it down. `created`: its table is new (nothing configured yet).
 */
export async function startRegion(
  env: RegionEnvironment,
  name: RegionId,
  port: number,
): Promise<{ region: LocalRegion; created: boolean }> {
  const data = await openRegionData(env, name);
  const { services, awsConfig, bus } = data;
  const triggers = startLocalTriggers({
    name,
    bus,
    config: services.config,
    mailer: env.mail.mailer,
    logger: env.logger,
    dynamo: data.dynamo,
    tableName: data.tableName,
    dynamoEndpoint: env.dynamoEndpoint,
    awsConfig,
    ...(env.instrument ? { instrument: env.instrument } : {}),
  });
  const fullSync = regionStateMachine(env, data, FULL_SYNC);
  const failback = regionStateMachine(env, data, FAILBACK);
  await recoverInterruptedRun(services);
  const api = await serveAdminApi(env, port, { ...data, triggers, fullSync, failback });
  env.onStop(api.stop);
  env.onStop(() => fullSync.stop());
  env.onStop(() => failback.stop());
  const work = regionWork(env, data, triggers);
  env.onStop(work.stop);
  // A region loss (R24): API first, so nothing is acknowledged after it; then the rest.
  const power = new RegionSwitch({
    setApiOnline: api.setOnline,
    stopWork: async () => {
      await work.stop();
      await Promise.all([fullSync.stop(), failback.stop()]);
      bus.delivering = false;
    },
    startWork: async () => {
      bus.delivering = true;
      // The full sync that the outage cut off is recorded as failed and its lock released.
      await recoverInterruptedRun(services);
      await work.start();
    },
  });
  const region: LocalRegion = {
    name,
    serverId: data.serverId,
    url: api.url,
    tableName: data.tableName,
    historyTableName: data.historyTableName,
    awsConfig,
    queues: data.queues,
    services,
    bus,
    metrics: data.metrics,
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
    pipelineStats: () => work.stats,
    forwardPaused: () => data.forwarding.whenPaused(),
    startPipeline: work.start,
  };
  return { region, created: data.created };
}

/** A region's table, queues, bus and the services the handlers run on. */
interface RegionData {
  readonly name: RegionId;
  readonly serverId: string;
  readonly tableName: string;
  readonly historyTableName: string;
  readonly awsConfig: LocalAwsConfig;
  readonly dynamo: DynamoDBClient;
  readonly queues: QueueAddresses;
  readonly bus: RegionEventBus;
  readonly forwarding: LocalForwardSwitch;
  readonly metrics: LocalMetrics;
  readonly services: ServerServices;
  /** The table is new. */
  readonly created: boolean;
}

/**
 * The name a region's state is kept under: its table (`mft-primary-config`), its DynamoDB Local
 * database (the SDK region `local-primary`), secrets and queues, and its server id. Production
 * keeps `primary`, its name before the runtime took the operators' word: an MFT_DATA_DIR holds
 * its state under that name, and the server id is the origin stamped on what it wrote (R18).
 */
const storedName = (name: RegionId) => (name === "production" ? "primary" : name);

async function openRegionData(env: RegionEnvironment, name: RegionId): Promise<RegionData> {
  const stored = storedName(name);
  const tableName = `mft-${stored}-config`;
  const historyTableName = `mft-${stored}-history`;
  const serverId = `local-${stored}`;
  const awsConfig: LocalAwsConfig = {
    region: `local-${stored}`,
    credentials: env.dynamoDatabase
      ? { ...LOCAL_AWS.credentials, accessKeyId: env.dynamoDatabase }
      : LOCAL_AWS.credentials,
  };
  const dynamo = new DynamoDBClient({ ...awsConfig, endpoint: env.dynamoEndpoint });
  env.instrument?.(dynamo);
  const [created, queues] = await Promise.all([
    ensureTable(dynamo, configTableDefinition(tableName)),
    createQueues(env.sqs, stored),
    ensureTable(dynamo, historyTableDefinition(historyTableName)).then(async (isNew) => {
      // History's retention, as in the cloud: it has no stream, so TTL deletions reach no one.
      if (isNew)
        await dynamo.send(
          new UpdateTimeToLiveCommand({
            TableName: historyTableName,
            TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
          }),
        );
    }),
  ]);
  // Stopped before it (the stack runs backwards): nothing uses the tables any more.
  if (env.dynamoDatabase)
    env.onStop(async () => {
      for (const name of [tableName, historyTableName])
        await dynamo.send(new DeleteTableCommand({ TableName: name }));
    });
  const bus = new RegionEventBus(awsConfig.region);
  const forwarding = new LocalForwardSwitch();
  const metrics = new LocalMetrics();
  const services = serverServices({
    store: new DynamoConfigStore(dynamo, tableName),
    bulk: new DynamoBulkStore(dynamo, tableName),
    history: new DynamoHistoryStore(dynamo, historyTableName),
    ...(env.historyDays !== undefined ? { historyDays: env.historyDays } : {}),
    secrets: new FileSecretStore(join(env.secretsDir, stored)),
    serverId,
    queue: new SqsChangeQueue(env.sqs, queues),
    forwarding,
    events: bus,
    metrics,
    ...(env.now ? { now: env.now } : {}),
  });
  return {
    name,
    serverId,
    tableName,
    historyTableName,
    awsConfig,
    dynamo,
    queues,
    bus,
    forwarding,
    metrics,
    services,
    created,
  };
}

/** A state machine the cloud deploys, and the Lambda behind its Tasks. */
interface StateMachineKind {
  /** The function's name after the region's (`mft-<region>-<function>`). */
  readonly function: "full-sync" | "failback";
  /** What the logs call it. */
  readonly label: string;
  readonly definition: (taskResource: string) => { States: Record<string, unknown> };
  readonly createHandler: (
    deps: ServerServices & { readonly logger: Logger },
  ) => LocalStateMachineOptions["handler"];
  readonly idField: "syncId" | "failbackId";
  /** The Fail state a run ends in once its failure is recorded (RecordFailure). */
  readonly failedState: string;
}

const FULL_SYNC: StateMachineKind = {
  function: "full-sync",
  label: "full sync",
  definition: (taskResource) => fullSyncDefinition(taskResource),
  createHandler: createFullSyncHandler,
  idField: "syncId",
  failedState: "FullSyncFailed",
};

const FAILBACK: StateMachineKind = {
  function: "failback",
  label: "failback",
  definition: failbackDefinition,
  createHandler: createFailbackHandler,
  idField: "failbackId",
  failedState: "FailbackFailed",
};

/** Step Functions: the deployed definition, each Task bound to the Lambda's handler. */
function regionStateMachine(
  env: RegionEnvironment,
  data: RegionData,
  kind: StateMachineKind,
): LocalStateMachine {
  const functionName = `${data.name}-${kind.function}`;
  const definition = kind.definition(
    `arn:aws:lambda:${data.awsConfig.region}:000000000000:function:mft-${functionName}`,
  );
  return new LocalStateMachine({
    definition,
    taskStates: taskStateNames(definition),
    handler: kind.createHandler({ ...data.services, logger: env.logger }),
    functionName,
    timeoutMs: 300_000,
    idField: kind.idField,
    onExecutionError: (runId, error) => {
      // A run that failed went through RecordFailure to its Fail state: already recorded.
      if ((error as { cause?: { name?: string } }).cause?.name === kind.failedState) return;
      env.logger.error(`${kind.label} execution failed`, {
        [kind.idField]: runId,
        error: String(error),
      });
    },
  });
}

/**
 * The admin API on API Gateway's local stand-in, with local mode's own routes in front:
 * `/_local/...` (mailbox, trigger runs, publish an event, region control) is not the Lambda's.
 */
function serveAdminApi(
  env: RegionEnvironment,
  port: number,
  region: RegionData & {
    readonly triggers: LocalTriggers;
    readonly fullSync: LocalStateMachine;
    readonly failback: LocalStateMachine;
  },
): Promise<HttpApi> {
  const { admin, mail } = env;
  return serveHttpApi({
    port,
    functionName: `${region.name}-admin-api`,
    handlerAt: (url) => {
      const adminApi = createAdminApi({
        ...region.services,
        fullSyncRunner: region.fullSync,
        failbackRunner: region.failback,
        // A failback's default `production`: this server, as the failover reaches it.
        ownAddress: ownAddress(url, admin),
        admin: fixedAdmin(admin),
        region: region.awsConfig.region,
        logger: env.logger,
      });
      const local = withLocalRoutes(adminApi, {
        admin,
        bus: region.bus,
        mail,
        triggers: region.triggers,
        store: region.services.store,
        metrics: region.metrics,
      });
      return withRegionControl(local, admin, region.name, env.control);
    },
  });
}

function ownAddress(url: string, admin: Credentials) {
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port), useTls: false, ...admin };
}

/** What runs while the region is up: triggers, the pipeline and the monitor's schedules. */
function regionWork(env: RegionEnvironment, data: RegionData, triggers: LocalTriggers) {
  const stats: PipelineStats = emptyPipelineStats();
  /** Where the stream poller stopped when the region went down: `up` resumes there. */
  let streamPositions: Readonly<Record<string, string>> = {};
  let running: { stop(): Promise<void> } | undefined;
  return {
    stats,
    async start() {
      await triggers.start();
      const pipeline = await startPipeline({
        services: data.services,
        dynamo: data.dynamo,
        dynamoEndpoint: env.dynamoEndpoint,
        sqs: env.sqs,
        tableName: data.tableName,
        queues: data.queues,
        forwarding: data.forwarding,
        logger: env.logger,
        awsConfig: data.awsConfig,
        ...(env.instrument ? { instrument: env.instrument } : {}),
        resumeFrom: streamPositions,
        stats,
      });
      const schedules = startMonitorSchedules(env, data.services);
      running = {
        async stop() {
          await schedules.stop();
          await Promise.all([pipeline.stop(), triggers.stop()]);
          streamPositions = pipeline.positions();
        },
      };
    },
    async stop() {
      await running?.stop();
      running = undefined;
    },
  };
}

/** EventBridge Scheduler: the heartbeat (R20) and verify (R21) schedules of the monitor. */
function startMonitorSchedules(env: RegionEnvironment, services: ServerServices) {
  const monitor = createMonitorHandler({ ...services, logger: env.logger });
  const heartbeatSeconds = env.heartbeatSeconds ?? topology.monitor.heartbeat.everySeconds;
  return startSchedules<MonitorEvent>(
    [
      {
        everyMs: heartbeatSeconds * 1000,
        input: { task: "heartbeat", intervalSeconds: heartbeatSeconds },
      },
      { everyMs: topology.monitor.verify.everyMinutes * 60_000, input: { task: "verify" } },
    ],
    (input) => monitor(input, lambdaContext("monitor", topology.monitor.timeoutSeconds * 1000)),
    (error) => env.logger.warn("monitor failed", { error: String(error) }),
  );
}

/** Creates a table unless it exists (MFT_DATA_DIR); true when it was created. */
async function ensureTable(
  client: DynamoDBClient,
  definition: CreateTableCommandInput,
): Promise<boolean> {
  const tableName = definition.TableName;
  try {
    await client.send(new CreateTableCommand(definition));
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
