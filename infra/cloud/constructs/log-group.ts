import { Fn, Stack } from "aws-cdk-lib";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { acknowledge, GUARD } from "../compliance.ts";

/**
 * How long the stack's logs are kept unless the config says otherwise: longer than anything the
 * pipeline itself keeps (its queues: 14 days), without a year of storage nobody reads.
 */
export const DEFAULT_LOG_RETENTION = RetentionDays.ONE_MONTH;

/** Control Tower's CT.CLOUDWATCH.PR.2 wants a log group kept at least this long. */
const CONTROL_TOWER_RETENTION_DAYS = 365;

/** Where a service that delivers its own logs (vended log delivery) needs no resource policy. */
export const VENDED_LOGS = "/aws/vendedlogs/";

/** How every log group of one stack is kept: the functions' and the stack's others alike. */
export interface LogGroupDefaults {
  /**
   * Retention of each function's log group (and the stack's other log groups).
   * @default DEFAULT_LOG_RETENTION (a month; Control Tower's CT.CLOUDWATCH.PR.2 wants a year)
   */
  readonly logRetention?: RetentionDays;
  /**
   * KMS key that encrypts each function's log group (its policy must let CloudWatch Logs use it).
   * @default - CloudWatch Logs' own encryption
   */
  readonly logKey?: IKey;
}

export interface StackLogGroupProps {
  /** Retention and encryption, as the functions' log groups have them. */
  readonly defaults: LogGroupDefaults;
  /**
   * For a service that writes the log group itself (Step Functions `states`, API Gateway access
   * logs `apigateway`): it is named under /aws/vendedlogs/<service>/, ending with `name`.
   * @default - a name CloudFormation generates
   */
  readonly vended?: { readonly service: "states" | "apigateway"; readonly name: string };
}

/** One log group of the stack: its retention, the stack key, and a vended name when needed. */
export function stackLogGroup(scope: Construct, id: string, props: StackLogGroupProps): LogGroup {
  const { defaults, vended } = props;
  const retention = defaults.logRetention ?? DEFAULT_LOG_RETENTION;
  const logGroup = new LogGroup(scope, id, {
    ...(vended ? { logGroupName: vendedName(scope, vended.service, vended.name) } : {}),
    retention,
    ...(defaults.logKey ? { encryptionKey: defaults.logKey } : {}),
  });
  if (retention < CONTROL_TOWER_RETENTION_DAYS) {
    acknowledge(logGroup, `${GUARD}::cloudwatch_log_group_retention_period_check`, {
      reason:
        "CT.CLOUDWATCH.PR.2: retention is the logRetentionDays setting (default 30 days, a modest " +
        "bill); an account that enforces the control sets 365 or more (docs/cloud.md).",
    });
  }
  return logGroup;
}

/**
 * Vended log delivery (Step Functions, API Gateway access logs) adds a resource policy for each
 * log group it is given unless the name is under /aws/vendedlogs/; that account-wide policy is
 * limited to 5,120 characters, and past it logging setup fails. The name ends with part of the
 * stack's id: a log group retained by a deleted stack does not block deploying it again.
 */
function vendedName(scope: Construct, service: string, name: string): string {
  const stack = Stack.of(scope);
  const stackIdSuffix = Fn.select(4, Fn.split("-", Fn.select(2, Fn.split("/", stack.stackId))));
  return `${VENDED_LOGS}${service}/${stack.stackName}-${name}-${stackIdSuffix}`;
}
