import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { testApp, testConfig } from "./cloud-app.ts";
import { publishedMetrics } from "./source-scan.ts";

/** The stack's metrics namespace: its stackPrefix. */
const METRICS_NAMESPACE = testConfig.stackPrefix;

type Token = Record<string, unknown>;
/** A widget as the dashboard body has it, with CloudFormation tokens as `TOKEN<n>` strings. */
interface Widget {
  type: string;
  properties: {
    title: string;
    region?: string;
    metrics?: (string | Record<string, unknown>)[][];
    alarms?: string[];
  };
}
interface Dashboard {
  name: unknown;
  widgets: Widget[];
  tokens: Token[];
}

/** The one dashboard of a template, its body parsed; the tokens in it kept aside by index. */
function dashboardOf(template: Template): Dashboard {
  const dashboards = Object.values(template.findResources("AWS::CloudWatch::Dashboard")) as {
    Properties: { DashboardName: unknown; DashboardBody: { "Fn::Join": [string, unknown[]] } };
  }[];
  expect(dashboards).toHaveLength(1);
  const [{ Properties }] = dashboards as [(typeof dashboards)[0]];
  const tokens: Token[] = [];
  const text = Properties.DashboardBody["Fn::Join"][1]
    .map((part) => (typeof part === "string" ? part : `TOKEN${tokens.push(part as Token) - 1}`))
    .join("");
  const { widgets } = JSON.parse(text) as { widgets: Widget[] };
  return { name: Properties.DashboardName, widgets, tokens };
}

const tokenOf = (dashboard: Dashboard, value: unknown): Token | undefined => {
  const index = /^TOKEN(\d+)$/.exec(String(value))?.[1];
  return index === undefined ? undefined : dashboard.tokens[Number(index)];
};

/** What one graph line draws: a Metrics Insights query or an AWS metric with its dimension. */
type Line =
  | { kind: "query"; metric: string; namespace: string }
  | { kind: "aws"; namespace: string; metric: string; dimension: string; value: unknown };

function linesOf(widget: Widget): Line[] {
  return (widget.properties.metrics ?? []).map((row) => {
    const [first] = row;
    if (typeof first === "object") {
      const expression = String(first.expression);
      const query = /^SELECT\s+\w+\((\w+)\)\s+FROM\s+"([^"]+)"$/.exec(expression);
      expect(query, `a query this test can read: ${expression}`).not.toBeNull();
      return { kind: "query", metric: query?.[1] ?? "", namespace: query?.[2] ?? "" };
    }
    const [namespace, metric, dimension, value] = row as [string, string, string, unknown];
    return { kind: "aws", namespace, metric, dimension, value };
  });
}

/**
 * AWS services' metrics the dashboard may draw, as the services document them: SQS publishes
 * these per queue (QueueName), Lambda IteratorAge per stream-reading function (FunctionName).
 */
const AWS_METRICS: Record<string, { dimension: string; type: string; metrics: string[] }> = {
  "AWS/SQS": {
    dimension: "QueueName",
    type: "AWS::SQS::Queue",
    metrics: ["ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"],
  },
  "AWS/Lambda": {
    dimension: "FunctionName",
    type: "AWS::Lambda::Function",
    metrics: ["IteratorAge"],
  },
};

let templates: [string, Template][];

beforeAll(() => {
  const { production, failover } = testApp({ checks: false });
  templates = [
    ["production's region", Template.fromStack(production)],
    ["the failover's region", Template.fromStack(failover)],
  ];
});

describe("the operations dashboard, one per region (issue 28.10)", () => {
  it("draws lag, the oldest queued change, dead-letter depth, heartbeat age and drift in each region", () => {
    const names = new Set<unknown>();
    for (const [region, template] of templates) {
      const dashboard = dashboardOf(template);
      names.add(JSON.stringify(dashboard.name));
      const drawn = dashboard.widgets.flatMap(linesOf).map((line) => line.metric);
      expect(drawn, region).toEqual(
        expect.arrayContaining([
          "ReplicationLag",
          "ApproximateAgeOfOldestMessage",
          "ApproximateNumberOfMessagesVisible",
          "HeartbeatAge",
          "Drift",
        ]),
      );
      // Each graph shows its own region's metrics.
      for (const widget of dashboard.widgets.filter((w) => w.type === "metric")) {
        expect(tokenOf(dashboard, widget.properties.region), widget.properties.title).toEqual({
          Ref: "AWS::Region",
        });
      }
    }
    // Dashboard names are the account's, not the region's: each stack has its own.
    expect(names.size).toBe(2);
  });

  it("draws only metrics the code publishes, and AWS metrics of this stack's own resources", () => {
    const published = publishedMetrics(["functions", "shared"]);
    for (const [region, template] of templates) {
      const dashboard = dashboardOf(template);
      const resources = template.toJSON().Resources as Record<string, { Type: string }>;
      for (const widget of dashboard.widgets) {
        for (const line of linesOf(widget)) {
          const where = `${region}, "${widget.properties.title}": ${line.metric}`;
          if (line.kind === "query") {
            expect(line.namespace, where).toBe(METRICS_NAMESPACE);
            expect(published.has(line.metric), `${where} is published by no code`).toBe(true);
            continue;
          }
          // An AWS service's metric of a resource this stack declares.
          const token = tokenOf(dashboard, line.value);
          const expected = AWS_METRICS[line.namespace];
          expect(expected, `${where}: namespace ${line.namespace}`).toBeDefined();
          expect(expected?.metrics, where).toContain(line.metric);
          expect(line.dimension, where).toBe(expected?.dimension);
          const id =
            (token?.Ref as string | undefined) ??
            (token?.["Fn::GetAtt"] as [string, string] | undefined)?.[0];
          expect(resources[id ?? ""]?.Type, where).toBe(expected?.type);
        }
      }
    }
  });

  it("shows the state of every alarm of its stack", () => {
    for (const [region, template] of templates) {
      const dashboard = dashboardOf(template);
      const [widget] = dashboard.widgets.filter((w) => w.type === "alarm");
      const shown = (widget?.properties.alarms ?? []).map(
        (arn) => (tokenOf(dashboard, arn)?.["Fn::GetAtt"] as [string, string] | undefined)?.[0],
      );
      const alarms = Object.keys(template.findResources("AWS::CloudWatch::Alarm"));
      expect(alarms.length, region).toBeGreaterThan(5);
      expect(new Set(shown), region).toEqual(new Set(alarms));
    }
  });
});
