import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { Credentials } from "../../shared/ports.ts";
import { type InstrumentClient, LOCAL_AWS } from "./aws-config.ts";
import { startDynamoDbLocal } from "./dynamodb-local.ts";
import { freePort } from "./ports.ts";
import { type LocalRegion, type RegionEnvironment, startRegion } from "./region.ts";
import type { RegionControl, RegionId, RegionView } from "./region-control.ts";
import { seedSampleConfiguration } from "./seed.ts";
import { type LocalMailServer, startSmtpServer } from "./smtp.ts";
import { startSqsServer } from "./sqs-server.ts";

// The runtime is local mode's entry point: what its callers use of the parts is exported here.
export { LOCAL_AWS, type LocalAwsConfig } from "./aws-config.ts";
export type { LocalRegion } from "./region.ts";

export interface LocalOptions {
  readonly productionPort: number;
  readonly failoverPort: number;
  /** Keeps tables and secrets across restarts; in memory when absent. */
  readonly dataDir?: string;
  readonly seed: boolean;
  /** The admin password of both regions; generated when absent. */
  readonly adminPassword?: string;
  readonly logLevel?: LogLevel;
  /** Sees every AWS SDK client the runtime creates (benchmarks count billable requests). */
  readonly instrument?: InstrumentClient;
  /** The local mailbox's SMTP port (MFT_SMTP_PORT); a free one when absent or 0. */
  readonly smtpPort?: number;
  /** The heartbeat's interval (MFT_HEARTBEAT_SECONDS); the topology's (60 s) when absent. */
  readonly heartbeatSeconds?: number;
  /** How long history keeps a change (MFT_HISTORY_DAYS); 7 days when absent (R26). */
  readonly historyDays?: number;
  /** The regions' wall clock for versions and time-based rules: tests move time with it. */
  readonly now?: () => number;
  /**
   * A DynamoDB Local already running, to use instead of starting one (tests share one JVM).
   * `database`, an alphanumeric access key ID, gives this runtime databases of its own there;
   * its tables are deleted when it stops. Not with `dataDir`.
   */
  readonly dynamoDb?: { readonly endpoint: string; readonly database: string };
}

export interface LocalRuntime {
  readonly production: LocalRegion;
  readonly failover: LocalRegion;
  readonly admin: Credentials;
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  /** The SMTP server where Send Email actions go (both regions). */
  readonly mail: LocalMailServer;
  /** `region.setDown` by name: `production` or `failover`. */
  setRegionDown(name: RegionId, down: boolean): Promise<void>;
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
    const regions = new Map<RegionId, LocalRegion>();
    const secretsDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "mft-failover-")));
    if (!options.dataDir) stack.push(() => rm(secretsDir, { recursive: true, force: true }));
    const logger = new Logger({
      serviceName: "mft-failover",
      logLevel: options.logLevel ?? "WARN",
    });

    const env: RegionEnvironment = {
      dynamoEndpoint: dynamo.endpoint,
      ...(dynamoDb ? { dynamoDatabase: dynamoDb.database } : {}),
      sqs: sqsClient,
      mail,
      admin,
      logger,
      secretsDir,
      ...(options.instrument ? { instrument: options.instrument } : {}),
      ...(options.heartbeatSeconds !== undefined
        ? { heartbeatSeconds: options.heartbeatSeconds }
        : {}),
      ...(options.historyDays !== undefined ? { historyDays: options.historyDays } : {}),
      ...(options.now ? { now: options.now } : {}),
      control: regionControl(regions),
      onStop: (close) => stack.push(close),
    };
    const [started, { region: failover }] = await Promise.all([
      startRegion(env, "production", options.productionPort),
      startRegion(env, "failover", options.failoverPort),
    ]);
    const production = started.region;
    regions.set("production", production).set("failover", failover);
    if (started.created) {
      await pointAtFailover(production, failover, admin);
      if (options.seed) await seedSampleConfiguration(production.services.config);
    }
    await Promise.all([production.startPipeline(), failover.startPipeline()]);
    return {
      production,
      failover,
      admin,
      dynamoEndpoint: dynamo.endpoint,
      sqsEndpoint: sqs.endpoint,
      mail,
      setRegionDown: async (name, down) => {
        const region = regions.get(name);
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

/** `/_local/regions`: both regions listed and switched, from either region's API. */
function regionControl(regions: Map<RegionId, LocalRegion>): RegionControl {
  return {
    list: () => listRegions(regions),
    apply: async (id, action) => {
      const target = regions.get(id);
      if (!target) throw new Error(`region ${id} is not running`);
      if (action === "down" || action === "up") await target.setDown(action === "down");
      else await target.setOnline(action === "online");
      return viewOf(target);
    },
  };
}

function viewOf(region: LocalRegion): RegionView {
  return {
    name: region.name,
    url: region.url,
    state: region.state(),
  };
}

function listRegions(regions: Map<RegionId, LocalRegion>): RegionView[] {
  return [...regions.values()].map(viewOf);
}

/** SPEC §8: production's failover settings point at the local failover, automatic sync on. */
async function pointAtFailover(production: LocalRegion, failover: LocalRegion, admin: Credentials) {
  const url = new URL(failover.url);
  await production.services.failoverSettings.put({
    enabled: true,
    host: url.hostname,
    port: Number(url.port),
    useTls: false,
    username: admin.username,
    password: admin.password,
    autoSync: true,
  });
}
