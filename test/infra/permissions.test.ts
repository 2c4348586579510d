import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import {
  createCommandRecorder,
  enterInvocation,
  invocationScope,
  type RecordedCall,
} from "../../infra/local/request-counter.ts";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { FileSecretStore } from "../../shared/adapters/file-secret-store.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";
import { testConfig } from "./cloud-app.ts";
import { synthesizedTemplates } from "./templates.ts";

// What the first real deploy would break on (issue 14, scope 3): every AWS SDK call a function
// makes while local mode runs a workload through the same handlers is recorded per function,
// mapped to its IAM action and resource, and checked against that function's role in the
// synthesized template; every environment variable a handler requires is set by the stack.
// Local mode's SDK calls are DynamoDB, its streams and SQS (events, secrets, Step Functions
// and Lambda have local adapters without the SDK; test/infra/stack.test.ts pins those grants).
// Secrets are checked too: each SecretStore call a function makes locally is the Secrets Manager
// call it makes in the cloud, on the secret's ARN as IAM sees it (issue 23.3).

// Each local invocation context names its function: SDK calls made from it carry that name.
vi.mock("../../infra/local/lambda-context.ts", async (original) => {
  const actual = await original<typeof import("../../infra/local/lambda-context.ts")>();
  return {
    lambdaContext: (name: string, timeoutMs?: number) => {
      enterInvocation(name.replace(/^(production|failover)-/, ""));
      return actual.lambdaContext(name, timeoutMs);
    },
  };
});

/** Local function name → the template's Lambda function (logical id prefix) and its entry. */
const FUNCTIONS: Record<string, { id: string; entry: string }> = {
  "admin-api": { id: "AdminApi", entry: "functions/admin-api/handler.ts" },
  authorizer: { id: "ApiAuthorizer", entry: "functions/authorizer/handler.ts" },
  capture: { id: "PipelineCapture", entry: "functions/capture/handler.ts" },
  forward: { id: "PipelineForward", entry: "functions/forward/handler.ts" },
  "full-sync": { id: "FullSyncTask", entry: "functions/full-sync/handler.ts" },
  failback: { id: "FailbackTask", entry: "functions/failback/handler.ts" },
  monitor: { id: "MonitorFunction", entry: "functions/monitor/handler.ts" },
  "trigger-rules": { id: "TriggersTriggerRules", entry: "functions/trigger-rules/handler.ts" },
  "trigger-actions": {
    id: "TriggersTriggerActions",
    entry: "functions/trigger-actions/handler.ts",
  },
};

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
type Statement = { Effect?: string; Action: string | string[]; Resource: unknown };

/** What an SDK call needs: IAM actions on one resource (`*` for actions without resources). */
interface Need {
  readonly actions: string[];
  readonly resource: "table" | "history" | "stream" | "queue" | "dlq" | "*";
}

const PARTIQL: Record<string, string> = {
  SELECT: "dynamodb:PartiQLSelect",
  INSERT: "dynamodb:PartiQLInsert",
  UPDATE: "dynamodb:PartiQLUpdate",
  DELETE: "dynamodb:PartiQLDelete",
};
const partiql = (statement: unknown) =>
  PARTIQL[String(statement).trim().split(/\s+/)[0]?.toUpperCase() ?? ""] ?? "dynamodb:PartiQL?";

/** The IAM action(s) and resource of one recorded call. */
function needOf(call: Pick<RecordedCall, "command" | "input">): Need {
  const [service, command = ""] = call.command.split(".");
  const input = call.input;
  const queue = () => (String(input.QueueUrl).includes("-dlq") ? "dlq" : "queue");
  switch (service) {
    case "DynamoDB": {
      // The local history tables are `mft-<region>-history` (R26); a batch names its table.
      const tableName = String(input.TableName ?? Object.keys(input.RequestItems ?? {})[0]);
      if (tableName.endsWith("-history"))
        return { actions: [`dynamodb:${command}`], resource: "history" };
      if (command === "ExecuteStatement")
        return { actions: [partiql(input.Statement)], resource: "table" };
      if (command === "BatchExecuteStatement") {
        const statements = (input.Statements as { Statement: string }[]).map((s) =>
          partiql(s.Statement),
        );
        return { actions: [...new Set(statements)], resource: "table" };
      }
      if (command === "TransactWriteItems") {
        const kinds = (input.TransactItems as Record<string, unknown>[]).flatMap(Object.keys);
        const action: Record<string, string> = {
          ConditionCheck: "dynamodb:ConditionCheckItem",
          Put: "dynamodb:PutItem",
          Update: "dynamodb:UpdateItem",
          Delete: "dynamodb:DeleteItem",
        };
        return {
          actions: [...new Set(kinds.map((kind) => action[kind] ?? kind))],
          resource: "table",
        };
      }
      return { actions: [`dynamodb:${command}`], resource: "table" };
    }
    case "DynamoDBStreams":
      return {
        actions: [`dynamodb:${command}`],
        resource: command === "ListStreams" ? "*" : "stream",
      };
    case "SQS": {
      const single = command.replace(/Batch$/, "");
      return { actions: [`sqs:${single}`], resource: queue() };
    }
    default:
      return { actions: [`${service?.toLowerCase()}:${command}`], resource: "*" };
  }
}

/** IAM's wildcards: `*` any run of characters, `?` exactly one. */
const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  ).test(value);

/** The stack's function and role, its environment, and the logical ids of its resources. */
function functionOf(resources: Resources, id: string) {
  const entry = Object.entries(resources).find(
    ([logicalId, r]) =>
      r.Type === "AWS::Lambda::Function" && new RegExp(`^${id}[0-9A-F]{8}$`).test(logicalId),
  );
  if (!entry) throw new Error(`no function ${id} in the template`);
  const properties = entry[1].Properties as {
    Role: { "Fn::GetAtt": [string, string] };
    Environment?: { Variables?: Record<string, unknown> };
  };
  const role = properties.Role["Fn::GetAtt"][0];
  const variables = properties.Environment?.Variables ?? {};
  const refOf = (name: string) => (variables[name] as { Ref?: string } | undefined)?.Ref;
  const statements = Object.values(resources)
    .filter(
      (r) =>
        r.Type === "AWS::IAM::Policy" &&
        (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === role),
    )
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  return {
    statements,
    variables,
    resources: {
      table: refOf("TABLE_NAME"),
      history: refOf("HISTORY_TABLE_NAME"),
      queue: refOf("QUEUE_URL"),
      dlq: refOf("DLQ_URL"),
    },
  };
}

/** The needs that no Allow statement of the role grants, as `action on resource`. */
function missingGrants(resources: Resources, fn: string, needs: Need[]): string[] {
  const { statements, resources: ids } = functionOf(resources, FUNCTIONS[fn]?.id ?? fn);
  const missing: string[] = [];
  for (const need of needs) {
    for (const action of need.actions) {
      const granted = statements.some((statement) => {
        if (statement.Effect !== undefined && statement.Effect !== "Allow") return false;
        if (![statement.Action].flat().some((pattern) => glob(pattern, action))) return false;
        const targets = [statement.Resource].flat();
        if (need.resource === "*") return targets.includes("*");
        const logicalId = need.resource === "stream" ? ids.table : ids[need.resource];
        const attribute = need.resource === "stream" ? "StreamArn" : "Arn";
        // The resource's own ARN (not a wildcard over everything).
        return targets.some((target) =>
          JSON.stringify(target).includes(`"Fn::GetAtt":["${logicalId}","${attribute}"]`),
        );
      });
      if (!granted) missing.push(`${action} on ${need.resource}`);
    }
  }
  return [...new Set(missing)].sort();
}

/** One SecretStore call made for a local function: in the cloud, a Secrets Manager call. */
interface SecretCall {
  readonly fn: string;
  readonly method: "get" | "refresh" | "put";
  readonly name: string;
}

/** The Secrets Manager actions of a SecretStore call (SecretsManagerSecretStore). */
const SECRET_ACTIONS: Record<SecretCall["method"], string[]> = {
  get: ["secretsmanager:GetSecretValue"],
  refresh: ["secretsmanager:GetSecretValue"],
  // PutSecretValue, and CreateSecret when the secret does not exist yet.
  put: ["secretsmanager:PutSecretValue", "secretsmanager:CreateSecret"],
};

/**
 * A statement's resource as text, the stack's pseudo parameters filled in; anything else
 * unresolved (another resource's attribute) matches no ARN.
 */
function arnText(resource: unknown, region: string): string {
  if (typeof resource === "string") return resource;
  const join = (resource as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  if (join) return join[1].map((part) => arnText(part, region)).join(join[0]);
  const ref = (resource as { Ref?: string }).Ref;
  const pseudo: Record<string, string> = {
    "AWS::Partition": "aws",
    "AWS::Region": region,
    "AWS::AccountId": testConfig.account ?? "",
  };
  return (ref && pseudo[ref]) ?? "\u0000";
}

/**
 * The secret calls of `fn` that its role does not allow, as `action on ARN`. Each secret is
 * checked by both ARNs IAM may see: the name alone (a secret that does not exist yet: the
 * first `PUT /api/failover`) and the name with Secrets Manager's random 6-character suffix.
 */
function missingSecretGrants(
  resources: Resources,
  fn: string,
  calls: readonly SecretCall[],
  region: string = testConfig.productionRegion,
): string[] {
  if (calls.length === 0) return [];
  const { statements, variables } = functionOf(resources, FUNCTIONS[fn]?.id ?? fn);
  const prefix = variables.SECRET_PREFIX;
  if (typeof prefix !== "string") return [`SECRET_PREFIX of ${fn} is not a name`];
  const missing: string[] = [];
  for (const { method, name } of calls) {
    const arn = `arn:aws:secretsmanager:${region}:${testConfig.account}:secret:${prefix}${name}`;
    for (const resource of [arn, `${arn}-AbC123`]) {
      for (const action of SECRET_ACTIONS[method]) {
        const granted = statements.some(
          (statement) =>
            (statement.Effect === undefined || statement.Effect === "Allow") &&
            [statement.Action].flat().some((pattern) => glob(pattern, action)) &&
            [statement.Resource].flat().some((target) => glob(arnText(target, region), resource)),
        );
        if (!granted) missing.push(`${action} on ${resource}`);
      }
    }
  }
  return [...new Set(missing)].sort();
}

/** Modules a handler loads (relative imports, followed), its own file first. */
function modulesOf(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(
      /^(?:import|export)\s+(?!type\b)[^;]*?from\s+"(\.[^"]+)"/gms,
    )) {
      visit(resolve(dirname(file), match[1] as string));
    }
  };
  visit(resolve(entry));
  return [...seen];
}

/** The environment variables a handler requires: readEnv keys without .optional()/.default(). */
function requiredEnv(entry: string): string[] {
  const names = new Set<string>();
  for (const file of modulesOf(entry)) {
    const text = readFileSync(file, "utf8");
    for (const call of text.matchAll(/readEnv\(\{([\s\S]*?)\n\s*\}\);/g)) {
      const body = (call[1] as string).replace(/\/\*\*[\s\S]*?\*\//g, "");
      for (const field of body.split(/\n\s*(?=[A-Z][A-Z0-9_]*:)/)) {
        const name = /^\s*([A-Z][A-Z0-9_]*):/.exec(field)?.[1];
        if (name && !/\.optional\(\)|\.default\(/.test(field)) names.add(name);
      }
    }
  }
  // Set by the Lambda runtime itself.
  names.delete("AWS_REGION");
  return [...names].sort();
}

let runtime: LocalRuntime;
const recorder = createCommandRecorder();
let resources: Resources;
const secretCalls: SecretCall[] = [];

// Local mode's SecretStore (a file) records each call with the function it was made for.
for (const method of ["get", "refresh", "put"] as const) {
  const original = FileSecretStore.prototype[method] as (
    this: FileSecretStore,
    ...args: [string, string]
  ) => Promise<string | undefined>;
  vi.spyOn(FileSecretStore.prototype, method).mockImplementation(function (
    this: FileSecretStore,
    ...args: [string, string]
  ) {
    const fn = invocationScope.getStore();
    if (fn !== undefined) secretCalls.push({ fn, method, name: args[0] });
    return original.apply(this, args);
  } as never);
}

beforeAll(async () => {
  resources = (await synthesizedTemplates()).production.toJSON().Resources as Resources;
  runtime = await startOwnRuntime({
    heartbeatSeconds: 1,
    instrument: (client) => recorder.attach(client as Parameters<typeof recorder.attach>[0]),
  });
  const production = new AdminClient(runtime.production.url, runtime.admin);
  const standby = new AdminClient(runtime.failover.url, runtime.admin);
  // A workload through every function local mode runs: the API (history and rewind included),
  // automatic sync, triggers, the monitor's heartbeat, a full sync.
  await production.request("PUT", "/api/domains/perm", { description: "permissions" });
  await production.request("PUT", "/api/domains/perm/users/alice", {
    password: "alice-Passw0rd!",
    homeDirectory: "/data/alice",
  });
  await production.request("PUT", "/api/triggers/perm", {
    event: "Failover Synchronization",
    actions: [{ type: "email", to: ["ops@example.com"], subject: "{{Success}}" }],
  });
  await production.request("GET", "/api/domains?limit=10");
  const beforeDelete = new Date().toISOString();
  await production.request("DELETE", "/api/domains/perm/users/alice");
  // History and rewind (R26): the admin API reads history and writes the rewind's versions.
  await production.request("GET", "/api/history?domain=perm");
  await production.request("POST", "/api/domains/perm/rewind", {
    at: beforeDelete,
    dryRun: false,
  });
  await waitFor(
    () => standby.request("GET", "/api/triggers/perm").catch(() => undefined),
    15_000,
    "the trigger on the failover",
  );
  await waitFor(
    () => runtime.production.triggers.rules().length > 0,
    10_000,
    "the trigger's rule on production",
  );
  await production.request("POST", "/_local/events", { Success: false });
  await waitFor(() => runtime.production.triggers.runs().length > 0, 10_000, "the trigger's run");
  await waitFor(
    () =>
      recorder.calls().some((call) => call.fn === "monitor") &&
      recorder.calls().some((call) => call.fn === "forward"),
    15_000,
    "the monitor and forward",
  );
  await production.request("GET", "/api/failover/status");
  const { passwordSet: _shown, ...settings } = await production.request<Record<string, unknown>>(
    "GET",
    "/api/failover",
  );
  await production.request("PUT", "/api/failover", {
    ...settings,
    autoSync: false,
    password: runtime.admin.password,
  });
  const { syncId } = await production.request<{ syncId: string }>(
    "POST",
    "/api/failover/synchronize",
  );
  await waitFor(
    async () =>
      (await production.request<{ state: string }>("GET", `/api/failover/syncs/${syncId}`))
        .state !== "running",
    60_000,
    "the full sync",
  );
  // A failback: the admin API stores production's password, the failback task reads it (R19).
  const { failbackId } = await production.request<{ failbackId: string }>(
    "POST",
    "/api/failover/failback",
    {},
  );
  await waitFor(
    async () =>
      (await production.request<{ state: string }>("GET", `/api/failover/failbacks/${failbackId}`))
        .state !== "running",
    60_000,
    "the failback",
  );
}, 240_000);

afterAll(async () => {
  await runtime?.stop();
});

describe("IAM: every SDK call a function makes is allowed by its role (issue 14)", () => {
  it("records calls of every function local mode runs through the SDK", () => {
    const functions = new Set(recorder.calls().map((call) => call.fn));
    expect([...functions].sort()).toEqual(
      expect.arrayContaining([
        "admin-api",
        "capture",
        "forward",
        "full-sync",
        "monitor",
        "trigger-actions",
        "trigger-rules",
      ]),
    );
  });

  it.each(Object.keys(FUNCTIONS))("%s: its role grants each call on its resource", (fn) => {
    const needs = recorder
      .calls()
      .filter((call) => call.fn === fn)
      .map(needOf);
    expect(missingGrants(resources, fn, needs)).toEqual([]);
  });

  it("fails when a statement is taken away (the check can fail)", () => {
    const needs = recorder
      .calls()
      .filter((call) => call.fn === "forward")
      .map(needOf);
    const forwardId = Object.keys(resources).find((id) => /^PipelineForward[0-9A-F]{8}$/.test(id));
    const forward = resources[forwardId ?? ""]?.Properties as
      | { Role: { "Fn::GetAtt": [string] } }
      | undefined;
    const role = forward?.Role["Fn::GetAtt"][0];
    const stripped: Resources = structuredClone(resources);
    for (const r of Object.values(stripped)) {
      if (r.Type !== "AWS::IAM::Policy") continue;
      if (!(r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === role)) continue;
      const document = r.Properties.PolicyDocument as { Statement: Statement[] };
      document.Statement = document.Statement.filter(
        (s) => ![s.Action].flat().some((a) => a.startsWith("sqs:")),
      );
    }
    const missing = missingGrants(stripped, "forward", needs);
    expect(missing).not.toEqual([]);
    for (const grant of missing) expect(grant).toMatch(/^sqs:/);
  });
});

describe("IAM: every secret a function reads or writes is allowed by its role (issue 23.3)", () => {
  const callsOf = (fn: string) => secretCalls.filter((call) => call.fn === fn);

  it("records the secret calls of the API, forward, full sync and failback", () => {
    const seen = new Set(secretCalls.map(({ fn, method, name }) => `${fn} ${method} ${name}`));
    expect([...seen]).toEqual(
      expect.arrayContaining([
        "admin-api put failover-password",
        "admin-api get failover-password",
        "admin-api put failback-production-password",
        "forward get failover-password",
        "full-sync get failover-password",
        "failback get failback-production-password",
      ]),
    );
  });

  it.each(Object.keys(FUNCTIONS))(
    "%s: its role grants each secret call, by the ARN with and without the suffix",
    (fn) => {
      expect(missingSecretGrants(resources, fn, callsOf(fn))).toEqual([]);
    },
  );

  it("fails on a grant that names only the suffixed ARN (the check can fail)", () => {
    const stripped: Resources = structuredClone(resources);
    for (const r of Object.values(stripped)) {
      if (r.Type !== "AWS::IAM::Policy") continue;
      const document = r.Properties.PolicyDocument as { Statement: Statement[] };
      for (const statement of document.Statement) {
        const targets = [statement.Resource].flat();
        statement.Resource = targets.filter(
          (target) => !/:secret:[^"]*password"/.test(JSON.stringify(target)),
        );
      }
    }
    const missing = missingSecretGrants(stripped, "admin-api", callsOf("admin-api"));
    const prefix = functionOf(resources, "AdminApi").variables.SECRET_PREFIX as string;
    expect(missing).toContain(
      `secretsmanager:PutSecretValue on arn:aws:secretsmanager:${testConfig.productionRegion}:${testConfig.account}:secret:${prefix}failover-password`,
    );
    expect(missing.every((grant) => !grant.endsWith("-AbC123"))).toBe(true);
  });
});

/** The variables `entry` requires that the stack does not set on function `id`. */
function missingEnv(template: Resources, id: string, entry: string): string[] {
  const { variables } = functionOf(template, id);
  return requiredEnv(join(process.cwd(), entry)).filter((name) => !(name in variables));
}

describe("environment: every variable a handler requires is set by the stack", () => {
  it.each(Object.entries(FUNCTIONS))("%s", (_fn, { id, entry }) => {
    expect(requiredEnv(join(process.cwd(), entry)).length).toBeGreaterThan(0);
    expect(missingEnv(resources, id, entry)).toEqual([]);
  });

  it("fails when the stack stops setting one (the check can fail)", () => {
    const stripped: Resources = structuredClone(resources);
    for (const [logicalId, r] of Object.entries(stripped)) {
      if (r.Type !== "AWS::Lambda::Function" || !logicalId.startsWith("TriggersTriggerRules"))
        continue;
      const { Variables } = r.Properties.Environment as { Variables: Record<string, unknown> };
      delete Variables.EVENT_BUS_NAME;
    }
    const { id, entry } = FUNCTIONS["trigger-rules"] ?? { id: "", entry: "" };
    expect(missingEnv(stripped, id, entry)).toEqual(["EVENT_BUS_NAME"]);
  });

  it("reads the variables a handler requires (independent list for trigger-rules)", () => {
    expect(requiredEnv("functions/trigger-rules/handler.ts")).toEqual([
      "EVENT_BUS_NAME",
      "SERVER_ID",
      "TABLE_NAME",
      "TRIGGER_ACTIONS_FUNCTION_ARN",
    ]);
  });
});
