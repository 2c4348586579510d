import type { App } from "aws-cdk-lib";
import { Tracing } from "aws-cdk-lib/aws-lambda";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { addComplianceChecks } from "./compliance.ts";
import type { CloudConfig } from "./config.ts";
import { MftFailoverStack } from "./stack.ts";

export interface CloudAppOptions {
  /** @default true: cdk-nag AwsSolutions and the Control Tower guard rules run at synth */
  readonly checks?: boolean;
}

export interface CloudApp {
  readonly production: MftFailoverStack;
  readonly failover: MftFailoverStack;
}

/** The whole deployment: the same stack in each region, named `${stackPrefix}-${region}`. */
export function buildCloudApp(
  app: App,
  config: CloudConfig,
  options: CloudAppOptions = {},
): CloudApp {
  const account = config.account ?? process.env.CDK_DEFAULT_ACCOUNT;
  const stack = (region: string, role: string) =>
    new MftFailoverStack(app, `${config.stackPrefix}-${region}`, {
      env: { region, ...(account ? { account } : {}) },
      description: `mft-failover server ${region} (initially ${role}); roles swap on failback`,
      alarmEmail: config.alarmEmail,
      stackPrefix: config.stackPrefix,
      historyRetentionDays: config.historyRetentionDays,
      ...(config.mailFrom ? { mailFrom: config.mailFrom } : {}),
      ...(config.sesConfigurationSet ? { sesConfigurationSet: config.sesConfigurationSet } : {}),
      ...(config.httpAllowHosts ? { httpAllowHosts: config.httpAllowHosts } : {}),
      functionDefaults: {
        logRetention: config.logRetentionDays as RetentionDays,
        tracing: config.tracing ? Tracing.ACTIVE : Tracing.PASS_THROUGH,
      },
      tags: { application: "mft-failover" },
    });
  const production = stack(config.productionRegion, "production");
  const failover = stack(config.failoverRegion, "failover");
  if (options.checks ?? true) addComplianceChecks(app);
  return { production, failover };
}
