import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Validations } from "aws-cdk-lib";
import { beforeAll, describe, expect, it } from "vitest";
import { NAG } from "../../infra/cloud/compliance.ts";
import { testApp } from "./cloud-app.ts";

interface Report {
  pluginReports: {
    pluginName: string;
    violations: unknown[];
    suppressedViolations?: { ruleName: string }[];
  }[];
}

let synthError: unknown;
let report: Report | undefined;
let acknowledgments: { path: string; id: string; reason: string }[] = [];

beforeAll(() => {
  // Arrange + act, once (~20 s): both stacks through cdk-nag AwsSolutions, the Control Tower
  // guard rules (cfn-guard), as `cdk synth` runs them.
  const { app } = testApp({ checks: true });
  try {
    app.synth();
  } catch (error) {
    synthError = error;
  }
  try {
    report = JSON.parse(readFileSync(join(app.outdir, "validation-report.json"), "utf8"));
  } catch {
    report = undefined; // no findings at all, suppressed or not
  }
  acknowledgments = app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id,
          reason,
        })),
      ),
  );
}, 120_000);

describe("compliance checks at synth", () => {
  it("passes cdk-nag AwsSolutions and the Control Tower guard rules", () => {
    if (synthError) throw synthError; // the error carries the full report
    // The report exists and names both rule packs: a plugin reports only when it has findings
    // (suppressed ones included), and both have acknowledged ones, so a missing name means the
    // pack did not run (no report would mean no check, not a clean one).
    expect(report, "validation-report.json").toBeDefined();
    expect(report?.pluginReports.map((plugin) => plugin.pluginName).sort()).toEqual([
      "AwsSolutions",
      "cdk-validator-cfnguard",
    ]);
    for (const plugin of report?.pluginReports ?? []) {
      expect(plugin.suppressedViolations?.length, plugin.pluginName).toBeGreaterThan(0);
    }
    for (const plugin of report?.pluginReports ?? []) {
      expect(plugin.violations, plugin.pluginName).toEqual([]);
    }
  });

  it("justifies every acknowledged finding in code, with a real reason", () => {
    expect(acknowledgments.length).toBeGreaterThan(0);
    for (const { path, id, reason } of acknowledgments) {
      expect(reason.length, `${path} ${id}`).toBeGreaterThan(60);
    }
  });

  it("acknowledges only these cdk-nag rules", () => {
    const rules = new Set(
      acknowledgments
        .filter(({ id }) => id.startsWith(`${NAG}::`))
        .map(({ id }) =>
          id
            .replace(/<StoreTable[^>]*>/, "<table>")
            .replace(/<MonitorFunction[^>]*>/, "<monitor>")
            .replace(
              /:events:[^:]+:[^:]+:rule\/<EventsBus[^>]*>/,
              ":events:<region>:<account>:rule/<bus>",
            ),
        ),
    );
    expect([...rules].sort()).toEqual([
      "AwsSolutions::AwsSolutions-APIG4", // GET /health is public (SPEC §8)
      "AwsSolutions::AwsSolutions-IAM5[Resource::*]", // X-Ray, ListEventSourceMappings, ListStreams, events:ListRules, the state machine's log delivery
      "AwsSolutions::AwsSolutions-IAM5[Resource::<monitor>:*]", // the schedules invoke the monitor (grantInvoke: the function and its versions)
      "AwsSolutions::AwsSolutions-IAM5[Resource::<table>/index/*]", // CDK's table grant
      // trigger rules are made at run time: Put/Delete rule and targets on rule/<bus>/mft-trigger-*
      "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<region>:<account>:rule/<bus>/mft-trigger-*]",
      "AwsSolutions::AwsSolutions-L1", // the runtime is the Node major the suite runs on
      "AwsSolutions::AwsSolutions-SMG4", // admin password rotation is a two-server procedure
      "AwsSolutions::AwsSolutions-SQS3", // on-failure queues and the trigger rules' DLQ are DLQs
    ]);
  });

  it("keeps the Control Tower exceptions to the known, justified ones", () => {
    const guard = report?.pluginReports.find((p) => p.pluginName === "cdk-validator-cfnguard");
    const rules = new Set(guard?.suppressedViolations?.map((v) => v.ruleName));
    expect([...rules].sort()).toEqual([
      "api_gw_v2_authorization_type_configured_check", // CT.APIGATEWAY.PR.5: GET /health
      "cloudwatch_log_group_retention_period_check", // CT.CLOUDWATCH.PR.2: logRetentionDays 30 by default
      "lambda_function_public_access_prohibited_check", // CT.LAMBDA.PR.2: SourceArn is an Fn::Join (API, trigger rules)
      "lambda_inside_vpc_check", // CT.LAMBDA.PR.3: no VPC (no private resources)
    ]);
  });
});
