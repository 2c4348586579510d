import { App } from "aws-cdk-lib";
import { buildCloudApp, type CloudApp } from "../../infra/cloud/build.ts";
import { type CloudConfig, cloudConfigSchema } from "../../infra/cloud/config.ts";

export const testConfig: CloudConfig = cloudConfigSchema.parse({
  productionRegion: "us-east-1",
  failoverRegion: "us-west-2",
  alarmEmail: "ops@example.com",
  account: "123456789012",
});

export interface TestAppOptions {
  /** cdk-nag AwsSolutions and the Control Tower guard rules. */
  readonly checks: boolean;
}

/**
 * The cloud app as `npm run synth` builds it, minus the slow parts a test does not need:
 * bundling is skipped (CDK's own `aws:cdk:bundling-stacks` context: assets get a placeholder),
 * CDK's built-in CloudFormation schema validation is off (~18 s for the two templates; `npm run
 * synth` still runs it), and without `checks` the nag/guard plugins are not registered either.
 */
export function testApp({ checks }: TestAppOptions): CloudApp & { app: App } {
  const app = new App({
    context: { "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
  return { app, ...buildCloudApp(app, testConfig, { checks }) };
}
