import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { testConfig } from "./cloud-app.ts";
import { failoverTemplate, loadTemplates, template } from "./constructs/template.ts";

beforeAll(loadTemplates, 180_000);

describe("one stack class, one stack per region (R19: roles are a setting)", () => {
  it("names the server after its region in both stacks", () => {
    for (const [t, region] of [
      [template, testConfig.productionRegion],
      [failoverTemplate, testConfig.failoverRegion],
    ] as const) {
      t.hasResourceProperties("AWS::Lambda::Function", {
        Environment: { Variables: Match.objectLike({ SERVER_ID: region }) },
      });
    }
  });

  it("deploys the same resources in both regions", () => {
    const count = (t: Template) =>
      Object.values(t.toJSON().Resources as Record<string, { Type: string }>)
        .map((r) => r.Type)
        .sort();
    expect(count(failoverTemplate)).toEqual(count(template));
  });

  it("outputs the API URL and the admin secret ARN", () => {
    template.hasOutput("ApiUrl", {});
    template.hasOutput("AdminSecretArn", {});
  });
});
