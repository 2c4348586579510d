import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { buildCloudApp } from "../../infra/cloud/build.ts";
import { testConfig } from "./cloud-app.ts";
import { synthesizedTemplates } from "./templates.ts";

// What an on-call person relies on and what the bill shows (issue 23): capture never skips a
// stream batch while the stream still holds it, its alarm says what brings the changes back,
// and tracing and log retention are settings with modest defaults.

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** DynamoDB Streams keeps a record 24 hours. */
const STREAM_RETENTION_SECONDS = 24 * 3600;

let template: Template;
let traced: Template;

beforeAll(async () => {
  template = (await synthesizedTemplates()).production;
  const app = new App({
    context: { "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
  // The same deployment with tracing on and a year of logs (another prefix: same account).
  const tracedConfig = {
    ...testConfig,
    stackPrefix: "MftTraced",
    tracing: true,
    logRetentionDays: 365,
  };
  traced = Template.fromStack(buildCloudApp(app, tracedConfig, { checks: false }).production);
}, 180_000);

const resourcesOf = (t: Template) => t.toJSON().Resources as Resources;

describe("capture's stream batches (issue 23.4)", () => {
  it("are retried until the record's maximum age, the stream's retention: no retry count skips one", () => {
    const mappings = Object.values(resourcesOf(template)).filter(
      (r) =>
        r.Type === "AWS::Lambda::EventSourceMapping" &&
        JSON.stringify(r.Properties.FunctionName).includes("PipelineCapture"),
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toMatchObject({
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: STREAM_RETENTION_SECONDS,
      DestinationConfig: { OnFailure: { Destination: expect.anything() } },
    });
  });

  it("that capture gave up on raise an alarm that says to verify and repair, not to resume", () => {
    const resources = resourcesOf(template);
    const queue = Object.keys(resources).find((id) => id.startsWith("PipelineCaptureFailures"));
    const alarms = Object.values(resources).filter(
      (r) =>
        r.Type === "AWS::CloudWatch::Alarm" &&
        JSON.stringify(r.Properties.Dimensions ?? []).includes(`"${queue}"`),
    );
    expect(alarms).toHaveLength(1);
    const description = String(alarms[0]?.Properties.AlarmDescription);
    expect(description).toMatch(/failover verify/);
    expect(description).toMatch(/failover repair/);
    expect(description).not.toMatch(/POST \/api\/failover\/resume or/);
  });
});

describe("costs that grow unseen (issue 23.6)", () => {
  const tracingModes = (t: Template) =>
    new Set(
      Object.values(t.findResources("AWS::Lambda::Function") as Resources).map(
        ({ Properties }) => (Properties.TracingConfig as { Mode?: string } | undefined)?.Mode,
      ),
    );

  it("traces functions only when asked: by default they pass on a traced caller's decision", () => {
    expect(tracingModes(template)).toEqual(new Set(["PassThrough"]));
    expect(tracingModes(traced)).toEqual(new Set(["Active"]));
  });

  it("keeps logs for the configured days: 30 by default", () => {
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
    traced.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 365 });
  });

  it("puts the API's access log group under /aws/vendedlogs/ (no share of the account's Logs resource policy)", () => {
    const stages = Object.values(template.findResources("AWS::ApiGatewayV2::Stage") as Resources);
    expect(stages).toHaveLength(1);
    const settings = stages[0]?.Properties.AccessLogSettings as
      | { DestinationArn: { "Fn::GetAtt": [string, string] } }
      | undefined;
    const logGroup = resourcesOf(template)[settings?.DestinationArn["Fn::GetAtt"][0] ?? ""];
    expect(logGroup?.Type).toBe("AWS::Logs::LogGroup");
    const name = JSON.stringify(logGroup?.Properties.LogGroupName);
    expect(name).toMatch(/^\{"Fn::Join":\["",\["\/aws\/vendedlogs\/apigateway\/MftFailover-/);
    template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: Match.anyValue(),
      KmsKeyId: Match.anyValue(),
    });
  });
});
