import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AttributeType, StreamViewType, Table } from "aws-cdk-lib/aws-dynamodb";
import { EventBus } from "aws-cdk-lib/aws-events";
import { Key } from "aws-cdk-lib/aws-kms";
import { describe, expect, it } from "vitest";
import { CloudConfigError, loadCloudConfig } from "../../infra/cloud/config.ts";
import { Triggers } from "../../infra/cloud/constructs/triggers.ts";

const fromContext =
  (context: Record<string, unknown>, files: Record<string, string> = {}) =>
  () =>
    loadCloudConfig(
      (key) => context[key],
      (path) => {
        const text = files[path];
        if (text === undefined) throw new Error(`ENOENT: ${path}`);
        return text;
      },
    );
const minimal = {
  productionRegion: "us-east-1",
  failoverRegion: "us-west-2",
  alarmEmail: "ops@example.com",
};

describe("cloud config (-c key=value or -c config=file.json)", () => {
  it("reads the context keys and fills the defaults", () => {
    expect(fromContext(minimal)()).toEqual({
      ...minimal,
      stackPrefix: "MftFailover",
      logRetentionDays: 30,
      historyRetentionDays: 7,
      tracing: false,
    });
  });

  it("takes tracing as a boolean in a file or true/false with -c (issue 23.6)", () => {
    expect(fromContext({ ...minimal, tracing: "true" })()).toMatchObject({ tracing: true });
    expect(fromContext({ ...minimal, tracing: "false" })()).toMatchObject({ tracing: false });
    const file = JSON.stringify({ ...minimal, tracing: true });
    expect(fromContext({ config: "c.json" }, { "c.json": file })()).toMatchObject({
      tracing: true,
    });
    expect(fromContext({ ...minimal, tracing: "yes" })).toThrow(/tracing: must be true or false/);
  });

  it("has no secretPrefix: secrets are named by the stackPrefix (issue 23.5)", () => {
    const file = JSON.stringify({ ...minimal, secretPrefix: "mft-failover/" });
    expect(fromContext({ config: "c.json" }, { "c.json": file })).toThrow(/secretPrefix/);
  });

  it("reads a config file and lets single keys override it", () => {
    const file = JSON.stringify({ ...minimal, logRetentionDays: 400 });
    const config = fromContext(
      { config: "cloud.json", failoverRegion: "eu-west-1", logRetentionDays: "731" },
      { "cloud.json": file },
    )();
    expect(config).toMatchObject({
      productionRegion: "us-east-1",
      failoverRegion: "eu-west-1",
      logRetentionDays: 731,
    });
  });

  it("says what to set when nothing is given", () => {
    const load = fromContext({});
    expect(load).toThrow(CloudConfigError);
    expect(load).toThrow(/productionRegion: is required/);
    expect(load).toThrow(/failoverRegion: is required/);
    expect(load).toThrow(/alarmEmail: is required/);
    expect(load).toThrow(/-c productionRegion=us-east-1 .*-c config=/);
  });

  it.each([
    [{ ...minimal, productionRegion: "Virginia" }, /productionRegion: must be an AWS region name/],
    [
      { ...minimal, failoverRegion: "us-east-1" },
      /failoverRegion: must differ from productionRegion/,
    ],
    [{ ...minimal, alarmEmail: "ops" }, /alarmEmail: must be an email address/],
    [{ ...minimal, logRetentionDays: "42" }, /logRetentionDays: must be one of/],
    [{ ...minimal, account: "12345" }, /account: must be a 12-digit AWS account id/],
  ])("refuses %j naming the key", (context, message) => {
    expect(fromContext(context)).toThrow(message);
  });

  it("takes an optional SES sender (mailFrom) and configuration set for trigger emails", () => {
    expect(fromContext(minimal)()).not.toHaveProperty("mailFrom");
    expect(
      fromContext({ ...minimal, mailFrom: "mft@example.com", sesConfigurationSet: "mft-set" })(),
    ).toMatchObject({ mailFrom: "mft@example.com", sesConfigurationSet: "mft-set" });
    expect(fromContext({ ...minimal, mailFrom: "mft" })).toThrow(
      /mailFrom: must be the email address of a verified SES identity/,
    );
    expect(fromContext({ ...minimal, sesConfigurationSet: "mft-set" })).toThrow(
      /sesConfigurationSet: needs mailFrom/,
    );
  });

  it("takes an optional allow-list of hosts for trigger HTTP actions (httpAllowHosts)", () => {
    expect(fromContext(minimal)()).not.toHaveProperty("httpAllowHosts");
    // -c httpAllowHosts=a,b is a string; a config file holds an array.
    expect(
      fromContext({ ...minimal, httpAllowHosts: "Hooks.Corp.Example, 10.0.0.5" })(),
    ).toMatchObject({ httpAllowHosts: ["hooks.corp.example", "10.0.0.5"] });
    const file = JSON.stringify({
      ...minimal,
      httpAllowHosts: ["hooks.corp.example", "[fd00::5]"],
    });
    expect(fromContext({ config: "c.json" }, { "c.json": file })()).toMatchObject({
      httpAllowHosts: ["hooks.corp.example", "fd00::5"],
    });
    expect(fromContext({ ...minimal, httpAllowHosts: "ok.example,https://bad.example/x" })).toThrow(
      /httpAllowHosts\.1: must be a DNS name or an IP address/,
    );
  });

  it("reads primaryRegion, productionRegion's old name, with a warning to rename it (issue 26.7)", () => {
    const { productionRegion, ...rest } = minimal;
    const old = { ...rest, primaryRegion: productionRegion };
    const warnings: string[] = [];
    const load = (context: Record<string, unknown>, files: Record<string, string> = {}) =>
      loadCloudConfig(
        (key) => context[key],
        (path) => files[path] ?? "",
        (message) => warnings.push(message),
      );
    expect(load(old)).toMatchObject(minimal);
    expect(load({ config: "c.json" }, { "c.json": JSON.stringify(old) })).toMatchObject(minimal);
    // A file's old key, overridden by -c with the new one.
    expect(
      load({ config: "c.json", productionRegion: "eu-west-1" }, { "c.json": JSON.stringify(old) }),
    ).toMatchObject({ productionRegion: "eu-west-1" });
    expect(warnings).toEqual([
      "primaryRegion (-c) is deprecated: rename it productionRegion",
      "primaryRegion (c.json) is deprecated: rename it productionRegion",
      "primaryRegion (c.json) is deprecated: rename it productionRegion",
    ]);
    expect(fromContext(minimal)()).not.toHaveProperty("primaryRegion");
    expect(fromContext({ ...minimal, primaryRegion: "eu-west-1" })).toThrow(
      /primaryRegion: is the old name of productionRegion; -c gives both/,
    );
  });

  it("refuses an unknown key in a config file (a typo must not pass silently)", () => {
    const file = JSON.stringify({ ...minimal, alarmEmails: "ops@example.com" });
    expect(fromContext({ config: "c.json" }, { "c.json": file })).toThrow(/alarmEmails/);
  });

  it("refuses a config file that is missing or not a JSON object", () => {
    expect(fromContext({ config: "nope.json" })).toThrow(/config: cannot read nope.json/);
    expect(fromContext({ config: "list.json" }, { "list.json": "[]" })).toThrow(
      /must hold a JSON object/,
    );
  });
});

describe("the Triggers construct's allow-list for HTTP actions", () => {
  const actionsEnv = (httpAllowHosts?: string[]) => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "T", { env: { account: "123456789012", region: "us-east-1" } });
    new Triggers(stack, "Triggers", {
      table: new Table(stack, "Table", {
        partitionKey: { name: "pk", type: AttributeType.STRING },
        stream: StreamViewType.NEW_AND_OLD_IMAGES,
      }),
      eventBus: new EventBus(stack, "Bus"),
      topicKey: new Key(stack, "Key"),
      metricsNamespace: "MftFailover",
      ...(httpAllowHosts ? { httpAllowHosts } : {}),
    });
    return Template.fromStack(stack);
  };
  const withEnv = (variables: Record<string, unknown>) => ({
    Description: Match.stringLikeRegexp("^Trigger actions"),
    Environment: { Variables: Match.objectLike(variables) },
  });

  it("passes it to trigger-actions as HTTP_ALLOW_HOSTS, comma-separated; none by default", () => {
    actionsEnv().hasResourceProperties(
      "AWS::Lambda::Function",
      withEnv({ HTTP_ALLOW_HOSTS: Match.absent() }),
    );
    actionsEnv(["hooks.corp.example", "10.0.0.5"]).hasResourceProperties(
      "AWS::Lambda::Function",
      withEnv({ HTTP_ALLOW_HOSTS: "hooks.corp.example,10.0.0.5" }),
    );
  });

  it("fails fast on an entry that is not a host", () => {
    expect(() => actionsEnv(["https://hooks.corp.example/"])).toThrow(
      /httpAllowHosts must be host names/,
    );
  });
});
