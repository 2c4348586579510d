import { ArnFormat, Stack } from "aws-cdk-lib";
import { AnyPrincipal, Effect, PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";

export interface StackKeyProps {
  /**
   * Let CloudWatch Logs encrypt this stack's log groups with the key.
   * @default true
   */
  readonly logs?: boolean;
  /**
   * Let CloudWatch alarms publish to an SNS topic encrypted with the key.
   * @default true
   */
  readonly cloudWatchAlarms?: boolean;
}

/**
 * One customer managed KMS key per region for what AWS-managed keys cannot do: CloudWatch
 * Logs encryption (log groups need a customer key) and the alarm topic (the aws/sns key does
 * not let CloudWatch publish). Rotation on; grants only for AWS services (CT.KMS.PR.3).
 */
export class StackKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string, props: StackKeyProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new Key(this, "Key", {
      enableKeyRotation: true,
      description: `mft-failover ${stack.stackName}: log groups and the SNS topics (alarms, mail)`,
    });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: "DenyGrantsExceptForAwsServices",
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ["kms:CreateGrant"],
        resources: ["*"],
        conditions: {
          BoolIfExists: {
            "kms:GrantIsForAWSResource": "false",
            "aws:PrincipalIsAWSService": "false",
          },
        },
      }),
    );
    if (props.logs ?? true) {
      this.key.addToResourcePolicy(
        new PolicyStatement({
          sid: "CloudWatchLogsOfThisAccount",
          principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
          actions: [
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
          ],
          resources: ["*"],
          conditions: {
            ArnLike: {
              "kms:EncryptionContext:aws:logs:arn": stack.formatArn({
                service: "logs",
                resource: "log-group",
                resourceName: "*",
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            },
          },
        }),
      );
    }
    if (props.cloudWatchAlarms ?? true) {
      this.key.addToResourcePolicy(
        new PolicyStatement({
          sid: "CloudWatchAlarmsPublishToTheTopic",
          principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
          actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
          resources: ["*"],
          // Only this account's alarms (confused deputy).
          conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
        }),
      );
    }
  }
}
