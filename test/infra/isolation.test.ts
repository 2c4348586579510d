import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { buildCloudApp } from "../../infra/cloud/build.ts";
import { testConfig } from "./cloud-app.ts";
import { synthesizedTemplates } from "./templates.ts";

// Two deployments in one account and region (production, and staging beside it) must not share
// anything named account- and region-wide: a shared secret name lets one overwrite the other's
// failover password, a shared metrics namespace fires one's alarms on the other's metrics
// (issue 23.5).

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** Properties that name something unique in an account and region, by resource type. */
const NAME_PROPERTIES: Record<string, string[]> = {
  "AWS::Lambda::Function": ["FunctionName"],
  "AWS::Logs::LogGroup": ["LogGroupName"],
  "AWS::Events::EventBus": ["Name"],
  "AWS::Events::Rule": ["Name"],
  "AWS::Scheduler::Schedule": ["Name"],
  "AWS::Scheduler::ScheduleGroup": ["Name"],
  "AWS::SQS::Queue": ["QueueName"],
  "AWS::SNS::Topic": ["TopicName"],
  "AWS::DynamoDB::Table": ["TableName"],
  "AWS::StepFunctions::StateMachine": ["StateMachineName"],
  "AWS::IAM::Role": ["RoleName"],
  "AWS::SecretsManager::Secret": ["Name"],
  "AWS::KMS::Alias": ["AliasName"],
};

/**
 * Every account- and region-wide name a template uses, as `kind name`: resources' fixed names,
 * the functions' secret prefix and metrics namespace, and the namespaces its alarms watch.
 */
function sharedNames(resources: Resources): string[] {
  const names = new Set<string>();
  const add = (kind: string, value: unknown) => {
    if (value !== undefined) names.add(`${kind} ${JSON.stringify(value)}`);
  };
  for (const { Type, Properties = {} } of Object.values(resources)) {
    for (const key of NAME_PROPERTIES[Type] ?? []) add(`${Type}.${key}`, Properties[key]);
    if (Type === "AWS::Lambda::Function") {
      const variables =
        (Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
          ?.Variables ?? {};
      add("secret prefix", variables.SECRET_PREFIX);
      add("metrics namespace", variables.METRICS_NAMESPACE);
    }
    if (Type === "AWS::CloudWatch::Alarm") {
      const namespace = Properties.Namespace;
      if (typeof namespace === "string" && !namespace.startsWith("AWS/")) {
        add("metrics namespace", namespace);
      }
      for (const { Expression } of (Properties.Metrics ?? []) as { Expression?: string }[]) {
        const from = Expression && /\bFROM\s+"([^"]+)"/i.exec(Expression)?.[1];
        if (from) add("metrics namespace", from);
      }
    }
  }
  return [...names].sort();
}

let production: string[];
let staging: string[];

beforeAll(async () => {
  // Production: the run's test app (prefix MftFailover); staging in the same regions and
  // account, only the prefix differs.
  const templates = await synthesizedTemplates();
  expect(testConfig.stackPrefix).toBe("MftFailover");
  const app = new App({
    context: { "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
  const second = buildCloudApp(
    app,
    { ...testConfig, stackPrefix: "MftStaging" },
    { checks: false },
  );
  production = sharedNames(templates.production.toJSON().Resources as Resources);
  staging = sharedNames(Template.fromStack(second.production).toJSON().Resources as Resources);
}, 180_000);

describe("two stacks in one account and region (issue 23.5)", () => {
  it("derive their secret prefix and metrics namespace from the stack prefix", () => {
    expect(production).toEqual(
      expect.arrayContaining(['secret prefix "MftFailover/"', 'metrics namespace "MftFailover"']),
    );
    expect(staging).toEqual(
      expect.arrayContaining(['secret prefix "MftStaging/"', 'metrics namespace "MftStaging"']),
    );
    // One prefix and one namespace per stack: functions and alarms agree.
    for (const names of [production, staging]) {
      expect(names.filter((name) => name.startsWith("secret prefix"))).toHaveLength(1);
      expect(names.filter((name) => name.startsWith("metrics namespace"))).toHaveLength(1);
    }
  });

  it("share no name", () => {
    // The collector found the fixed names too (forward's function name, the vended log groups).
    expect(production.length).toBeGreaterThan(4);
    expect(production.filter((name) => staging.includes(name))).toEqual([]);
  });
});
