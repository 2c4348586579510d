import { Match, type Template } from "aws-cdk-lib/assertions";
import { expect } from "vitest";
import { testConfig } from "../cloud-app.ts";
import { synthesizedTemplates } from "../templates.ts";

/**
 * What the construct tests share: the synthesized stacks (one synth per run) and the lookups
 * into them.
 */

export type Resources = Record<string, { Properties: Record<string, unknown> }>;

/** The stack's metrics namespace: its stackPrefix (issue 23.5). */
export const METRICS_NAMESPACE = testConfig.stackPrefix;

/** The production region's stack (us-east-1) and the failover region's, the same stack class. */
export let template: Template;
export let failoverTemplate: Template;

/** Each file's `beforeAll`: the run's synthesized templates (test/infra/templates.ts). */
export async function loadTemplates(): Promise<void> {
  ({ production: template, failover: failoverTemplate } = await synthesizedTemplates());
}

export const only = (found: Record<string, object>) => {
  const entries = Object.entries(found as Resources);
  expect(entries).toHaveLength(1);
  const [entry] = entries;
  if (!entry) throw new Error("unreachable");
  return { id: entry[0], props: entry[1].Properties };
};
/** The logical id of the one function whose description starts with `prefix`. */
export const functionId = (prefix: string) =>
  only(
    template.findResources("AWS::Lambda::Function", {
      Properties: { Description: Match.stringLikeRegexp(`^${prefix}`) },
    }),
  ).id;
export const queueId = (match: Record<string, unknown>) =>
  only(template.findResources("AWS::SQS::Queue", { Properties: match })).id;
/** The logical id of the one resource of `type` whose id starts with `prefix` (its construct path). */
export const idOf = (type: string, prefix: string) => {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids, `${type} ${prefix}`).toHaveLength(1);
  return ids[0] as string;
};
/** `arn:<partition>:<service>:<region>:<account>:<resource>`, as CDK's formatArn renders it. */
export const arnOf = (
  service: string,
  resource: string,
  region: string = testConfig.productionRegion,
) => ({
  "Fn::Join": [
    "",
    ["arn:", { Ref: "AWS::Partition" }, `:${service}:${region}:${testConfig.account}:${resource}`],
  ],
});
/**
 * The most `/api/sync/events` calls per second one forward invocation can make: one call in
 * flight at a time (one per batch), none answered in under ~100 ms (infra/topology.ts).
 */
export const CALLS_PER_SECOND_PER_FORWARD = 10;
/** The alarm topic (the mail topic, when there is one, is another SNS topic). */
export const alarmTopicId = () =>
  only(
    template.findResources("AWS::SNS::Topic", {
      Properties: { DisplayName: "mft-failover alarms" },
    }),
  ).id;

export type Statement = { Action: string | string[]; Resource: unknown };
/** Every statement of the policies attached to roles whose logical id starts with `role`. */
export const statementsOf = (role: string): Statement[] =>
  Object.values(
    template.findResources("AWS::IAM::Policy", {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp(`^${role}`) }] },
    }) as Resources,
  ).flatMap(
    ({ Properties }) => (Properties.PolicyDocument as { Statement: Statement[] }).Statement,
  );

/** One Step Functions execution metric of a state machine in an alarm's metric math. */
export const executionMetric = (id: string, metric: string) =>
  Match.objectLike({
    MetricStat: Match.objectLike({
      Metric: {
        Namespace: "AWS/States",
        MetricName: metric,
        Dimensions: [{ Name: "StateMachineArn", Value: { Ref: id } }],
      },
      Stat: "Sum",
    }),
    ReturnData: false,
  });

/** The one state machine whose logical id starts with `prefix`. */
export const stateMachineOf = (prefix: string) => {
  const id = idOf("AWS::StepFunctions::StateMachine", prefix);
  return { id, props: template.toJSON().Resources[id].Properties as Record<string, unknown> };
};
/** Every policy statement with a `states:` action, with the roles of its policy. */
export const statesStatements = () =>
  Object.values(template.findResources("AWS::IAM::Policy") as Resources).flatMap(({ Properties }) =>
    (Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter((s) =>
      [s.Action].flat().some((a) => a.startsWith("states:")),
    ).map((s) => ({ roles: Properties.Roles, ...s })),
  );

/**
 * A task state machine (full sync, failback) logs ALL events without execution data to its own
 * log group, encrypted with the stack's key and kept for the configured days, and traces with
 * X-Ray. Answers the log group's properties.
 */
export function expectLoggedAndTraced(props: Record<string, unknown>, logGroup: string) {
  expect(props).toMatchObject({
    LoggingConfiguration: {
      Level: "ALL",
      IncludeExecutionData: false,
      Destinations: [
        { CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": [logGroup, "Arn"] } } },
      ],
    },
    TracingConfiguration: { Enabled: true },
  });
  const logProps = template.toJSON().Resources[logGroup].Properties;
  expect(logProps).toMatchObject({
    KmsKeyId: { "Fn::GetAtt": [idOf("AWS::KMS::Key", "Key"), "Arn"] },
    RetentionInDays: testConfig.logRetentionDays,
  });
  return logProps;
}
