import { CfnGuardValidator } from "@cdklabs/cdk-validator-cfnguard";
import { type App, Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";

/** The namespaces under which CDK reports (and acknowledges) each checker's findings. */
export const NAG = "AwsSolutions";
export const GUARD = "cdk-validator-cfnguard";

/**
 * Acknowledges one finding on one construct (and its children) with the reason in code:
 * a cdk-nag finding (`${NAG}::AwsSolutions-IAM5[Resource::*]`) or a Control Tower guard rule
 * (`${GUARD}::rule_name`). cdk-nag 3 replaced NagSuppressions with CDK's own
 * `Validations.of(scope).acknowledge`, which both checkers honour.
 */
export function acknowledge(scope: IConstruct, id: string, { reason }: { reason: string }): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * A resource as cdk-nag names it in a finding id (`AwsSolutions-IAM5[Resource::…]`): the
 * resolved value with `Ref` as `<Id>`, `Fn::GetAtt` as `<Id.Attr>` and `Fn::Join` joined, so an
 * acknowledgment can name exactly one resource pattern instead of every wildcard.
 */
export function nagResource(scope: IConstruct, value: string): string {
  const flatten = (node: unknown): string => {
    if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/\}/g, ">");
    if (typeof node === "object" && node !== null) {
      const o = node as Record<string, unknown>;
      if (Array.isArray(o["Fn::Join"])) {
        const [delimiter, items] = o["Fn::Join"] as [string, unknown[]];
        return items.map(flatten).join(delimiter);
      }
      if (Array.isArray(o["Fn::GetAtt"])) {
        const [resource, attribute] = o["Fn::GetAtt"] as [unknown, unknown];
        return `<${flatten(resource)}.${flatten(attribute)}>`;
      }
      if ("Ref" in o) return `<${flatten(o.Ref)}>`;
    }
    return JSON.stringify(node);
  };
  return flatten(Stack.of(scope).resolve(value));
}

/**
 * Runs at every synth (so `cdk synth`/`cdk deploy` stop on a finding, not only the tests):
 * cdk-nag's AwsSolutions pack and the Control Tower proactive controls via cfn-guard.
 * Exceptions are acknowledged on the construct they concern, next to the reason.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new CfnGuardValidator());
}
