/**
 * Local mode's triggers (R17), through the cloud's two functions: `trigger-rules`, fed by the
 * config table's stream (SERVER / TRIGGER#… records, as the cloud's filter) and a reconcile at
 * each start, keeps one rule per enabled trigger on the region's local EventBridge rules
 * (infra/local/event-bus.ts) through its real EventBridge client; each event the bus publishes
 * is matched against the rules' patterns there, and a matching rule invokes `trigger-actions`
 * with the input its transformer builds (`{triggerId, event}`). Also the local-only routes
 * (`/_local/...`) that show the mailbox, the rules and the trigger runs and let a demo or a test
 * publish an event; the local runtime serves them in front of the admin API handler; they do not
 * exist in the cloud.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { z } from "zod";
import { type HttpEvent, type HttpHandler, type HttpResult, json } from "../../functions/http.ts";
import { createTriggerActionsHandler } from "../../functions/trigger-actions/app.ts";
import { createTriggerRulesHandler } from "../../functions/trigger-rules/app.ts";
import {
  DEFAULT_RULE_PREFIX,
  TriggerRules,
} from "../../shared/adapters/eventbridge-trigger-rules.ts";
import { allowHostList, safeHttpSender } from "../../shared/adapters/safe-http.ts";
import type { ConfigService } from "../../shared/config/service.ts";
import { fromZodError } from "../../shared/errors.ts";
import type { HttpSender, Mailer, TriggerRun } from "../../shared/events/actions.ts";
import type { MetricSink } from "../../shared/metrics.ts";
import { SERVER_PARTITION, TRIGGER_PREFIX } from "../../shared/model/items.ts";
import type { ConfigStore, Credentials } from "../../shared/ports.ts";
import { announce } from "../../shared/sync/announce.ts";
import { type SyncEvent, syncModes } from "../../shared/sync/events.ts";
import { topology } from "../topology.ts";
import { type BusEvent, type LocalEventBus, LocalEventRules } from "./event-bus.ts";
import { lambdaContext } from "./lambda-context.ts";
import { refusal } from "./local-access.ts";
import type { LocalMailServer } from "./smtp.ts";
import { type StreamSource, startStreamSource } from "./stream-source.ts";

/** Runs kept for `GET /_local/trigger-runs`; older ones are dropped first. */
const KEEP_RUNS = 1000;

export interface LocalTriggers {
  runs(): readonly TriggerRun[];
  /** The trigger rules now on the region's bus. */
  rules(): ReturnType<LocalEventRules["list"]>;
  /** The triggers whose rules `event` matches: those it runs (the trigger ids, in rule order). */
  matching(event: BusEvent): string[];
  /** Reconciles the rules, then follows the table's stream (where it stopped, if it ran before). */
  start(): Promise<void>;
  /** Stops following the stream (the region is down); the rules stay. */
  stop(): Promise<void>;
}

/**
 * `MFT_HTTP_ALLOW_HOSTS`: the hosts local HTTP actions may reach at a private or link-local
 * address (comma-separated host names or IP literals); loopback is allowed anyway locally.
 */
export function localAllowHosts(value = process.env.MFT_HTTP_ALLOW_HOSTS): string[] {
  const parsed = allowHostList.optional().safeParse(value);
  if (!parsed.success) {
    throw new Error(`MFT_HTTP_ALLOW_HOSTS: ${fromZodError(parsed.error).message}`);
  }
  return parsed.data ?? [];
}

/** Powertools metrics that go nowhere: local mode has no CloudWatch for EMF lines. */
class DiscardedMetrics extends Metrics {
  override publishStoredMetrics(): this {
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  }
}

/** Whether a stream record is one the cloud's filter passes to trigger-rules (a trigger's item). */
const isTriggerRecord = (record: DynamoDBStreamEvent["Records"][number]) =>
  record.dynamodb?.Keys?.pk?.S === SERVER_PARTITION &&
  (record.dynamodb.Keys.sk?.S ?? "").startsWith(TRIGGER_PREFIX);

export interface LocalTriggersDeps {
  /** The region (`production`, `failover`): names its functions. */
  readonly name: string;
  readonly bus: LocalEventBus;
  readonly config: Pick<ConfigService, "get" | "list">;
  readonly mailer: Mailer;
  readonly logger: Logger;
  /** The region's table, whose stream feeds trigger-rules. */
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
  readonly dynamoEndpoint: string;
  readonly awsConfig: {
    readonly region: string;
    readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  };
  /** Sees the stream client (benchmarks count requests). */
  readonly instrument?: (client: DynamoDBStreamsClient) => void;
  /** @default safeHttpSender: loopback allowed (webhooks on 127.0.0.1), plus `MFT_HTTP_ALLOW_HOSTS` */
  readonly http?: HttpSender;
  readonly backoffMs?: number;
}

/** One region's trigger functions, its rules and their delivery (see the file's comment). */
export function startLocalTriggers(deps: LocalTriggersDeps): LocalTriggers {
  const { logger, awsConfig } = deps;
  const runs: TriggerRun[] = [];
  const account = "000000000000";
  const functionArn = (fn: string) =>
    `arn:aws:lambda:${awsConfig.region}:${account}:function:mft-${deps.name}-${fn}`;
  const rules = new LocalEventRules(
    `mft-${deps.name}-bus`,
    `arn:aws:events:${awsConfig.region}:${account}:`,
    // Lambda would retry a failed invocation, then put it in trigger-actions' on-failure queue.
    (error, target) =>
      logger.error("trigger rule target failed", {
        target,
        error: error instanceof Error ? error.message : String(error),
      }),
  );
  const actionsArn = functionArn("trigger-actions");
  const actions = createTriggerActionsHandler({
    config: deps.config,
    mailer: deps.mailer,
    http: deps.http ?? safeHttpSender({ allowLoopback: true, allowHosts: localAllowHosts() }),
    ...(deps.backoffMs !== undefined ? { backoffMs: deps.backoffMs } : {}),
    logger,
    metrics: new DiscardedMetrics({ namespace: "MftFailover", serviceName: "trigger-actions" }),
  });
  rules.addFunction(actionsArn, async (input) => {
    const result = await actions(
      input,
      lambdaContext(`${deps.name}-trigger-actions`, topology.triggerActions.timeoutSeconds * 1000),
    );
    if (!("triggerId" in result)) return;
    runs.push(result);
    if (runs.length > KEEP_RUNS) runs.shift();
  });
  // EventBridge's API in process: the function's own client, only the transport is local.
  const eventBridge = new EventBridgeClient({
    ...awsConfig,
    endpoint: "http://eventbridge.local",
    requestHandler: rules.requestHandler as never,
  });
  const ruleFunction = createTriggerRulesHandler({
    rules: new TriggerRules(eventBridge, {
      busName: rules.busName,
      actionsFunctionArn: actionsArn,
      rulePrefix: DEFAULT_RULE_PREFIX,
    }),
    config: deps.config,
    logger,
  });
  const rulesContext = () =>
    lambdaContext(`${deps.name}-trigger-rules`, topology.triggerRules.timeoutSeconds * 1000);
  // Each delivery runs apart from the publisher's execution (its own invocations, as in AWS).
  deps.bus.subscribe(
    (event) => new Promise<void>((done) => setImmediate(() => rules.deliver(event).then(done))),
  );

  const { stream } = topology.triggerRules;
  const streams = new DynamoDBStreamsClient({ ...awsConfig, endpoint: deps.dynamoEndpoint });
  deps.instrument?.(streams);
  /** Where the stream reader stopped: a restart resumes there, as an event source mapping does. */
  const positions: Record<string, string> = {};
  let source: StreamSource | undefined;

  return {
    runs: () => runs,
    rules: () => rules.list(),
    matching: (event) =>
      rules
        .targetsOf(event)
        .filter((target) => target.arn === actionsArn)
        .map((target) => (target.input() as { triggerId: string }).triggerId),
    async start() {
      if (source) return;
      // The hourly `{reconcile: true}` of the cloud, at start: rules of changes that the stream
      // no longer holds (a data dir older than its 24 h) are made too.
      // Its own invocation, apart from the caller's execution (as Lambda runs it).
      await new Promise((done, fail) =>
        setImmediate(() => ruleFunction({ reconcile: true }, rulesContext()).then(done, fail)),
      );
      const { Table } = await deps.dynamo.send(
        new DescribeTableCommand({ TableName: deps.tableName }),
      );
      if (!Table?.LatestStreamArn) throw new Error(`table ${deps.tableName} has no stream`);
      source = await startStreamSource({
        client: streams,
        streamArn: Table.LatestStreamArn,
        handler: async (event) => {
          // The event source mapping's filter: only trigger items reach the function.
          const Records = event.Records.filter(isTriggerRecord);
          if (Records.length === 0) return { batchItemFailures: [] };
          const result = await ruleFunction({ Records }, rulesContext());
          return "batchItemFailures" in result ? result : undefined;
        },
        batchSize: stream.batchSize,
        pollIntervalMs: topology.capture.stream.pollIntervalMs,
        maximumRetryAttempts: stream.maximumRetryAttempts,
        maximumRecordAgeSeconds: stream.maximumRecordAgeSeconds,
        bisectBatchOnFunctionError: stream.bisectBatchOnFunctionError,
        startingPosition: stream.startingPosition,
        checkpoint: { ...positions },
        onCheckpoint: (shardId, sequenceNumber) => {
          positions[shardId] = sequenceNumber;
        },
        onFailure: (records, reason) =>
          logger.error("trigger stream records dropped after retries", {
            count: records.length,
            reason,
          }),
        onError: (error) =>
          logger.warn("trigger-rules failed; the batch is retried", { error: String(error) }),
      });
    },
    async stop() {
      await source?.stop();
      source = undefined;
    },
  };
}

export interface LocalRoutesDeps {
  readonly admin: Credentials;
  readonly bus: LocalEventBus;
  /** Where the region publishes from (`announce` keeps each Mode's last outcome there). */
  readonly store: Pick<ConfigStore, "getLocal" | "putLocalIf">;
  readonly metrics: MetricSink;
  readonly mail: LocalMailServer;
  readonly triggers: LocalTriggers;
}

const error = (status: number, code: string, message: string) =>
  json(status, { error: { code, message } });

/**
 * What `POST /_local/events` takes: a sync event's detail (R16), with demo-friendly defaults;
 * PreviousSuccess and Changed are not taken: they are computed as for a sync's own event.
 */
const publishedDetail = z.strictObject({
  Success: z.boolean(),
  Mode: z.enum(syncModes).default("automatic"),
  Primary: z.string().max(256).default("local-primary"),
  Failover: z.string().max(256).default("local-failover"),
  StartedAt: z.iso.datetime().optional(),
  FinishedAt: z.iso.datetime().optional(),
  Items: z.number().int().min(0).default(0),
  Reason: z.string().max(1024).optional(),
  SyncId: z.string().max(128).optional(),
  Message: z.string().max(1024).optional(),
});

/**
 * Serves `/_local/...` (admin Basic auth and the rules against other sites' pages, like the
 * API) and hands everything else to the admin
 * API handler:
 * - `GET /_local/mail`, `GET /_local/mail/{id}`: the local mailbox (SMTP server);
 * - `GET /_local/trigger-runs`: recorded trigger runs and their action results;
 * - `GET /_local/trigger-rules`: the trigger rules on this region's bus (its stream lags a
 *   trigger's change by a moment, as the cloud's does);
 * - `POST /_local/events`: publishes a `Failover Synchronization` event with the given detail
 *   on this region's bus as a sync publishes its own (a testing and demo aid), and answers
 *   with the event and the triggers it matched.
 */
export function withLocalRoutes(api: HttpHandler, deps: LocalRoutesDeps): HttpHandler {
  return async (event, context) => {
    const path = event.rawPath;
    if (!path.startsWith("/_local/")) return api(event, context);
    const refused = refusal(event, deps.admin);
    if (refused) return refused;
    const method = event.requestContext.http.method;
    if (method === "GET" && path === "/_local/mail") {
      const items = deps.mail.messages().map(({ text: _text, ...summary }) => summary);
      return json(200, { smtp: `${deps.mail.host}:${deps.mail.port}`, items });
    }
    const mailId = /^\/_local\/mail\/(\d+)$/.exec(path)?.[1];
    if (method === "GET" && mailId !== undefined) {
      const message = deps.mail.messages().find((mail) => mail.id === Number(mailId));
      return message ? json(200, message) : error(404, "not_found", `message ${mailId} not found`);
    }
    if (method === "GET" && path === "/_local/trigger-runs") {
      return json(200, { items: deps.triggers.runs() });
    }
    if (method === "GET" && path === "/_local/trigger-rules") {
      return json(200, { items: deps.triggers.rules() });
    }
    if (method === "POST" && path === "/_local/events") return publish(event, deps);
    return error(404, "not_found", `no route ${method} ${path}`);
  };
}

async function publish(event: HttpEvent, deps: LocalRoutesDeps): Promise<HttpResult> {
  let body: unknown;
  try {
    body = JSON.parse(event.body ?? "");
  } catch {
    return error(400, "invalid_request", "body: is not valid JSON");
  }
  const parsed = publishedDetail.safeParse(body);
  if (!parsed.success) {
    const problem = fromZodError(parsed.error);
    return error(problem.status, problem.code, problem.message);
  }
  const now = new Date().toISOString();
  const { StartedAt, FinishedAt, ...rest } = parsed.data;
  let sent: SyncEvent | undefined;
  // What a sync's end runs (PreviousSuccess, Changed, the SyncFailures count), on this bus.
  await announce(
    {
      events: {
        publish: (syncEvent) => {
          sent = syncEvent;
          return deps.bus.publish(syncEvent);
        },
      },
      metrics: deps.metrics,
      store: deps.store,
    },
    { ...rest, StartedAt: StartedAt ?? now, FinishedAt: FinishedAt ?? now },
  );
  const published = deps.bus.events().findLast((busEvent) => busEvent.detail === sent?.detail);
  if (!published) throw new Error("the bus did not record the published event");
  return json(202, {
    id: published.id,
    detail: published.detail,
    matched: deps.triggers.matching(published),
  });
}
