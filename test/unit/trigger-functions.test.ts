import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import {
  DeleteRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-eventbridge";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createTriggerActionsHandler } from "../../functions/trigger-actions/app.ts";
import { createTriggerRulesHandler } from "../../functions/trigger-rules/app.ts";
import { lambdaContext } from "../../infra/local/lambda-context.ts";
import { TARGET_ID, TriggerRules } from "../../shared/adapters/eventbridge-trigger-rules.ts";
import { SesMailer, SnsMailer } from "../../shared/adapters/mailers.ts";
import type { ConfigService } from "../../shared/config/service.ts";
import { notFound } from "../../shared/errors.ts";
import type { EmailMessage, Trigger } from "../../shared/events/actions.ts";
import { triggerInput } from "../../shared/model/schemas.ts";

const logger = new Logger({ logLevel: "SILENT" });
const context = lambdaContext("test");
const options = {
  busName: "mft-bus",
  actionsFunctionArn: "arn:aws:lambda:eu-west-1:111122223333:function:trigger-actions",
  rulePrefix: "mft-trigger-",
};

type View = Record<string, unknown>;
const view = (id: string, body: Record<string, unknown>): View => ({
  id,
  ...triggerInput.parse({ event: "Failover Synchronization", ...body }),
  version: 7,
  updatedAt: 1,
});
const email = [{ type: "email", to: ["ops@example.com"], subject: "failed: {{Reason}}" }];
const onFailure = view("on-failure", {
  condition: { variable: "Success", op: "==", value: false },
  actions: email,
});

/** The config service as the handlers use it: get one trigger, list them. */
function configOf(views: View[]): Pick<ConfigService, "get" | "list"> {
  return {
    get: async (_type, scope) => {
      const found = views.find((v) => v.id === scope.id);
      if (!found) throw notFound(`trigger ${scope.id}`);
      return found;
    },
    list: async () => ({ items: views, nextCursor: undefined }),
  };
}

const asTrigger = (v: View) => {
  const { version: _v, updatedAt: _u, ...rest } = v;
  return rest as unknown as Trigger;
};

describe("TriggerRules: EventBridge rules for triggers (adapter)", () => {
  const eventBridge = mockClient(EventBridgeClient);
  const rules = new TriggerRules(new EventBridgeClient({ region: "eu-west-1" }), options);
  beforeEach(() => {
    eventBridge.reset();
    eventBridge.on(PutTargetsCommand).resolves({ FailedEntryCount: 0 });
  });

  it("puts the compiled pattern and a target that wraps the event with the trigger id", async () => {
    await rules.put(asTrigger(onFailure));

    expect(eventBridge.commandCalls(PutRuleCommand)[0]?.args[0].input).toEqual({
      Name: "mft-trigger-on-failure",
      EventBusName: "mft-bus",
      EventPattern: JSON.stringify({
        source: ["mft.failover"],
        "detail-type": ["Failover Synchronization"],
        detail: { Success: [false] },
      }),
      State: "ENABLED",
      Description: "mft-failover trigger on-failure",
    });
    const target = eventBridge.commandCalls(PutTargetsCommand)[0]?.args[0].input.Targets?.[0];
    expect(target).toMatchObject({ Id: TARGET_ID, Arn: options.actionsFunctionArn });
    expect(target?.InputTransformer?.InputTemplate).toBe(
      '{"triggerId": "on-failure", "event": <aws.events.event.json>}',
    );
  });

  it("fails when EventBridge rejects the target", async () => {
    eventBridge
      .on(PutTargetsCommand)
      .resolves({ FailedEntryCount: 1, FailedEntries: [{ ErrorCode: "AccessDenied" }] });
    await expect(rules.put(asTrigger(onFailure))).rejects.toThrow(/AccessDenied/);
  });

  it("removes targets, then the rule; a rule that is already gone is fine", async () => {
    await rules.remove("on-failure");
    expect(eventBridge.commandCalls(RemoveTargetsCommand)[0]?.args[0].input).toMatchObject({
      Rule: "mft-trigger-on-failure",
      Ids: [TARGET_ID],
    });
    expect(eventBridge.commandCalls(DeleteRuleCommand)).toHaveLength(1);

    eventBridge
      .on(RemoveTargetsCommand)
      .rejects(new ResourceNotFoundException({ message: "no rule", $metadata: {} }));
    await expect(rules.remove("gone")).resolves.toBeUndefined();
  });

  it("keeps rule names within 64 characters, distinct for distinct ids", () => {
    const long = `a${"b".repeat(63)}`;
    const other = `a${"b".repeat(62)}c`;
    expect(rules.ruleName(long)).toHaveLength(64);
    expect(rules.ruleName(long)).not.toBe(rules.ruleName(other));
  });

  it("reconcile puts the enabled triggers' rules and deletes the rest", async () => {
    eventBridge.on(ListRulesCommand).resolves({
      Rules: [{ Name: "mft-trigger-on-failure" }, { Name: "mft-trigger-deleted-long-ago" }],
    });
    const disabled = asTrigger(view("off", { enabled: false, actions: email }));
    const result = await rules.reconcile([asTrigger(onFailure), disabled]);
    expect(result).toEqual({ put: 1, removed: 1 });
    expect(eventBridge.commandCalls(DeleteRuleCommand)[0]?.args[0].input.Name).toBe(
      "mft-trigger-deleted-long-ago",
    );
  });
});

describe("trigger-rules function: stream records keep the rules in step", () => {
  const record = (sk: string, sequence: string) => ({
    eventName: "MODIFY" as const,
    dynamodb: { Keys: { pk: { S: "SERVER" }, sk: { S: sk } }, SequenceNumber: sequence },
  });
  const stream = (...records: ReturnType<typeof record>[]) =>
    ({ Records: records }) as unknown as DynamoDBStreamEvent;

  function fakeRules(failOn?: string) {
    const calls: string[] = [];
    return {
      calls,
      put: async (trigger: Trigger) => {
        if (trigger.id === failOn) throw new Error("throttled");
        calls.push(`put ${trigger.id}`);
      },
      remove: async (id: string) => {
        calls.push(`remove ${id}`);
      },
      reconcile: async () => ({ put: 0, removed: 0 }),
    };
  }

  it("puts enabled triggers, removes deleted and disabled ones, once per trigger", async () => {
    const rules = fakeRules();
    const off = view("off", { enabled: false, actions: email });
    const handler = createTriggerRulesHandler({
      rules,
      config: configOf([onFailure, off]),
      logger,
    });

    const result = await handler(
      stream(
        record("TRIGGER#on-failure", "1"),
        record("TRIGGER#on-failure", "2"),
        record("TRIGGER#off", "3"),
        record("TRIGGER#deleted", "4"),
        record("WEB", "5"),
      ),
      context,
    );

    expect(result).toEqual({ batchItemFailures: [] });
    expect(rules.calls).toEqual(["put on-failure", "remove off", "remove deleted"]);
  });

  it("reports the first failed record so Lambda retries from there", async () => {
    const rules = fakeRules("on-failure");
    const handler = createTriggerRulesHandler({ rules, config: configOf([onFailure]), logger });
    const result = await handler(
      stream(record("TRIGGER#other", "1"), record("TRIGGER#on-failure", "2")),
      context,
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "2" }] });
  });
});

describe("trigger-actions function: the rules' target", () => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  const sent: EmailMessage[] = [];
  const deps = (views: View[]) => ({
    config: configOf(views),
    mailer: { send: async (message: EmailMessage) => void sent.push(message) },
    http: async () => ({ status: 200 }),
    sleep: async () => {},
    logger,
    metrics: new Metrics({ namespace: "test", serviceName: "trigger-actions" }),
  });
  const ruleInput = (triggerId: string, success: boolean) => ({
    triggerId,
    event: {
      version: "0",
      id: `evt-${triggerId}-${success}`,
      time: "2026-01-01T00:00:00Z",
      source: "mft.failover",
      "detail-type": "Failover Synchronization",
      account: "111122223333",
      region: "eu-west-1",
      resources: [],
      detail: { Success: success, Mode: "automatic", Items: 1, Reason: "peer down" },
    },
  });
  beforeEach(() => {
    sent.length = 0;
  });

  it("runs the actions of the trigger named by the rule", async () => {
    const handler = createTriggerActionsHandler(deps([onFailure]));
    const run = await handler(ruleInput("on-failure", false), context);
    expect(run).toMatchObject({ triggerId: "on-failure", ok: true });
    expect(sent.map((message) => message.subject)).toEqual(["failed: peer down"]);
  });

  it("skips a trigger that was deleted, disabled or changed since the rule was made", async () => {
    const handler = createTriggerActionsHandler(deps([onFailure]));
    expect(await handler(ruleInput("gone", false), context)).toEqual({ skipped: "not found" });
    expect(await handler(ruleInput("on-failure", true), context)).toEqual({
      skipped: "disabled or no longer matching",
    });
    expect(sent).toEqual([]);
  });

  it("rejects input that is not from a trigger rule", async () => {
    const handler = createTriggerActionsHandler(deps([onFailure]));
    await expect(handler({ detail: {} }, context)).rejects.toThrow();
  });
});

describe("cloud mailers (adapters)", () => {
  const message: EmailMessage = {
    to: ["ops@example.com", "oncall@example.com"],
    subject: "Sync failed: café\r\nBcc: x",
    text: "body",
  };

  it("SES sends from the verified identity", async () => {
    const ses = mockClient(SESv2Client);
    ses.on(SendEmailCommand).resolves({ MessageId: "m1" });
    await new SesMailer(new SESv2Client({ region: "eu-west-1" }), "mft@example.com").send(message);
    expect(ses.commandCalls(SendEmailCommand)[0]?.args[0].input).toMatchObject({
      FromEmailAddress: "mft@example.com",
      Destination: { ToAddresses: message.to },
      Content: { Simple: { Subject: { Data: message.subject }, Body: { Text: { Data: "body" } } } },
    });
  });

  it("SNS publishes with the recipients as a filterable attribute and a safe subject", async () => {
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: "m1" });
    const topic = "arn:aws:sns:eu-west-1:111122223333:mft-mail";
    await new SnsMailer(new SNSClient({ region: "eu-west-1" }), topic).send(message);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TopicArn: topic,
      Subject: "Sync failed: caf???Bcc: x",
      MessageAttributes: {
        to: { DataType: "String.Array", StringValue: JSON.stringify(message.to) },
      },
    });
    expect(input?.Message).toBe("To: ops@example.com, oncall@example.com\n\nbody");
  });
});
