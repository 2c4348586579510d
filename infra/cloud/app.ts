#!/usr/bin/env -S npx tsx
/**
 * The CDK app (cdk.json runs it): one MftFailoverStack per region from one typed config.
 *   npx cdk synth -c productionRegion=us-east-1 -c failoverRegion=us-west-2 -c alarmEmail=ops@example.com
 *   npx cdk deploy --all -c config=mft-cloud.json
 */
import { App } from "aws-cdk-lib";
import { buildCloudApp } from "./build.ts";
import { CloudConfigError, loadCloudConfig } from "./config.ts";

const app = new App();
try {
  // Context from the CLI (-c), cdk.json and cdk.context.json.
  buildCloudApp(
    app,
    loadCloudConfig((key) => app.node.tryGetContext(key)),
  );
  app.synth();
} catch (error) {
  if (!(error instanceof CloudConfigError)) throw error;
  console.error(`mft-failover: ${error.message}`);
  process.exit(1);
}
