import { readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { LocalStartupError } from "../infra/local/dynamodb-local.ts";
import { startLocal } from "../infra/local/runtime.ts";
import type { DriftReport } from "../shared/sync/verify.ts";
import { AdminClient, ApiError } from "./api-client.ts";

const program = new Command("mft-failover")
  .description("Failover server for an MFT server: local regions and the admin API from the shell.")
  .addOption(
    new Option("--url <url>", "admin API of the server to talk to")
      .env("MFT_URL")
      .default("http://127.0.0.1:8610"),
  )
  .addOption(new Option("--user <name>", "admin user").env("MFT_USER").default("admin"))
  .addOption(new Option("--password <password>", "admin password").env("MFT_ADMIN_PASSWORD"))
  .option("--json", "print the API's JSON as is")
  .showHelpAfterError();

interface GlobalOptions {
  url: string;
  user: string;
  password?: string;
  json?: boolean;
}

function client(): AdminClient {
  const options = program.opts<GlobalOptions>();
  if (!options.password) {
    throw new UsageError("the admin password is needed: --password or MFT_ADMIN_PASSWORD");
  }
  return new AdminClient(options.url, { username: options.user, password: options.password });
}

class UsageError extends Error {}

/** `key=value` pairs as a JSON object; values are parsed as JSON when they can be (port=22, enabled=true). */
export function parsePairs(pairs: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals < 1) throw new UsageError(`expected key=value, got "${pair}"`);
    const raw = pair.slice(equals + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {}
    body[pair.slice(0, equals)] = value;
  }
  return body;
}

async function bodyFrom(pairs: string[], options: { data?: string; file?: string }) {
  const base: unknown = options.file
    ? JSON.parse(await readFile(options.file === "-" ? "/dev/stdin" : options.file, "utf8"))
    : options.data
      ? JSON.parse(options.data)
      : {};
  return { ...(base as Record<string, unknown>), ...parsePairs(pairs) };
}

function print(value: unknown) {
  if (program.opts<GlobalOptions>().json) {
    console.log(JSON.stringify(value, null, 2));
    return;
  }
  const items = (value as { items?: unknown[] } | undefined)?.items;
  for (const item of items ?? [value]) console.log(describe(item));
}

/** The keys that name an entity: shown first and bare. */
const ID_KEYS = ["name", "username", "id"];

/** One line per item: its id (entities have one; settings and status do not), then key=value. */
function describe(item: unknown): string {
  if (item === undefined) return "ok";
  if (typeof item !== "object" || item === null) return String(item);
  const [first, ...rest] = Object.entries(item).filter(([key]) => key !== "updatedAt");
  const field = ([key, value]: [string, unknown]) =>
    `${key}=${typeof value === "object" ? JSON.stringify(value) : String(value)}`;
  if (!first) return "";
  const head = ID_KEYS.includes(first[0]) ? String(first[1]) : field(first);
  return [head, ...rest.map(field)].join("  ");
}

/** list/get/put/delete for one kind of entity; `scope` names the path arguments before the id. */
function resource(name: string, scope: string[], id: string, path: (args: string[]) => string) {
  const command = program.command(name).description(`${name}: list, get, put, delete`);
  const args = (list: string[]) => list.map((arg) => `<${arg}>`).join(" ");
  const encode = (values: string[]) => values.map(encodeURIComponent);
  command
    .command(`list ${args(scope)}`.trim())
    .description(`list ${name}`)
    .action(async (...values: unknown[]) => {
      const base = path(encode(values.slice(0, scope.length) as string[]));
      const items: unknown[] = [];
      let cursor: string | undefined;
      do {
        const page = await client().request<{ items: unknown[]; nextCursor?: string }>(
          "GET",
          `${base}?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        );
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      print({ items });
    });
  command
    .command(`get ${args([...scope, id])}`)
    .description(`show one of ${name}`)
    .action(async (...values: unknown[]) => {
      const keys = encode(values.slice(0, scope.length + 1) as string[]);
      print(await client().request("GET", `${path(keys.slice(0, -1))}/${keys.at(-1)}`));
    });
  command
    .command(`put ${args([...scope, id])} [fields...]`)
    .description(
      `create or replace one of ${name}; fields as key=value (JSON values) or --data/--file`,
    )
    .option("--data <json>", "the whole body as JSON")
    .option("--file <path>", "read the body from a JSON file (- for stdin)")
    .action(async (...values: unknown[]) => {
      const keys = encode(values.slice(0, scope.length + 1) as string[]);
      const pairs = values[scope.length + 1] as string[];
      const options = values[scope.length + 2] as { data?: string; file?: string };
      const body = await bodyFrom(pairs, options);
      print(await client().request("PUT", `${path(keys.slice(0, -1))}/${keys.at(-1)}`, body));
    });
  command
    .command(`delete ${args([...scope, id])}`)
    .description(`delete one of ${name}`)
    .action(async (...values: unknown[]) => {
      const keys = encode(values.slice(0, scope.length + 1) as string[]);
      await client().request("DELETE", `${path(keys.slice(0, -1))}/${keys.at(-1)}`);
      print(undefined);
    });
}

resource("domains", [], "domain", () => "/api/domains");
resource("users", ["domain"], "username", ([domain]) => `/api/domains/${domain}/users`);
resource("groups", ["domain"], "group", ([domain]) => `/api/domains/${domain}/groups`);
resource("services", ["domain"], "id", ([domain]) => `/api/domains/${domain}/services`);
resource("triggers", [], "id", () => "/api/triggers");

for (const action of ["start", "stop"] as const) {
  program
    .command(`${action} <domain>`)
    .description(`${action} a domain (run state)`)
    .action(async (domain: string) => {
      print(await client().request("POST", `/api/domains/${encodeURIComponent(domain)}/${action}`));
    });
}

// Triggers (R17): what they did, and local mode's mailbox and event publisher (/_local/...).
const triggersCommand = program.commands.find((command) => command.name() === "triggers");
triggersCommand
  ?.command("runs")
  .description("recent trigger runs and their action results (local mode)")
  .action(async () => {
    const { items } = await client().request<{ items: TriggerRunView[] }>(
      "GET",
      "/_local/trigger-runs",
    );
    if (program.opts<GlobalOptions>().json) return print({ items });
    for (const run of items) {
      console.log(
        `${run.finishedAt}  ${run.triggerId}  event=${run.eventId}  ${run.ok ? "ok" : "FAILED"}`,
      );
      for (const action of run.actions) {
        const outcome = action.ok ? "ok" : `failed: ${action.error ?? ""}`;
        const status = action.status !== undefined ? ` HTTP ${action.status}` : "";
        console.log(
          `  ${action.type} ${action.target}  attempts=${action.attempts}${status}  ${outcome}`,
        );
      }
    }
  });

const mail = program.command("mail").description("the local mailbox (local mode's SMTP server)");
mail
  .command("list")
  .description("messages received, oldest first")
  .action(async () => {
    const answer = await client().request<{ smtp: string; items: MailView[] }>(
      "GET",
      "/_local/mail",
    );
    if (program.opts<GlobalOptions>().json) return print(answer);
    if (answer.items.length === 0) console.log(`no messages yet (SMTP ${answer.smtp})`);
    for (const m of answer.items) {
      console.log(`${m.id}  ${m.receivedAt}  to=${m.to.join(",")}  ${m.subject}`);
    }
  });
mail
  .command("show <id>")
  .description("one message: headers and text")
  .action(async (id: string) => {
    const m = await client().request<MailView & { text: string }>(
      "GET",
      `/_local/mail/${encodeURIComponent(id)}`,
    );
    if (program.opts<GlobalOptions>().json) return print(m);
    console.log(
      [
        `From: ${m.from}`,
        `To: ${m.to.join(", ")}`,
        `Date: ${m.receivedAt}`,
        `Subject: ${m.subject}`,
        "",
        m.text,
      ].join("\n"),
    );
  });

program
  .command("publish-event [fields...]")
  .description(
    'local mode, for tests and demos: publish a Failover Synchronization event on this region\'s bus (e.g. Success=false Reason="peer down")',
  )
  .option("--data <json>", "the whole detail as JSON")
  .action(async (pairs: string[], options: { data?: string }) => {
    print(await client().request("POST", "/_local/events", await bodyFrom(pairs, options)));
  });

interface MailView {
  id: number;
  receivedAt: string;
  from: string;
  to: string[];
  subject: string;
}
interface TriggerRunView {
  triggerId: string;
  eventId: string;
  finishedAt: string;
  ok: boolean;
  actions: {
    type: string;
    target: string;
    ok: boolean;
    attempts: number;
    status?: number;
    error?: string;
  }[];
}

const failover = program.command("failover").description("Settings > Failover (R5)");
failover
  .command("get")
  .description("show the failover settings (the password shows as passwordSet)")
  .action(async () => print(await client().request("GET", "/api/failover")));
failover
  .command("set [fields...]")
  .description(
    "change the failover settings: the fields given (key=value or --data/--file), the others kept",
  )
  .option("--data <json>", "fields as a JSON object")
  .option("--file <path>", "read the fields from a JSON file (- for stdin)")
  .option("--replace", "replace all settings: fields not given take their defaults")
  .action(async (pairs: string[], options: { data?: string; file?: string; replace?: boolean }) => {
    const api = client();
    // The API's PUT replaces; `passwordSet` is read-only and the password, absent, is kept.
    const { passwordSet: _, ...current } = options.replace
      ? {}
      : await api.request<Record<string, unknown>>("GET", "/api/failover");
    const body = { ...current, ...(await bodyFrom(pairs, options)) };
    print(await api.request("PUT", "/api/failover", body));
  });
for (const [name, method, path, description] of [
  [
    "status",
    "GET",
    "/api/failover/status",
    "module and sync state, connection and heartbeat, queue and DLQ depth, lag, last event (R20)",
  ],
  [
    "test",
    "POST",
    "/api/failover/test",
    "test connection: reachability and credentials, and which step failed (R6)",
  ],
  [
    "resume",
    "POST",
    "/api/failover/resume",
    "resume suspended automatic sync: redrive what was kept, forward again (R9)",
  ],
  [
    "takeover",
    "POST",
    "/api/failover/takeover",
    "on the failover, when production is lost: start its domains and web services (R19a)",
  ],
] as const) {
  failover
    .command(name)
    .description(description)
    .action(async () => print(await client().request(method, path)));
}

failover
  .command("verify")
  .description("compare production with the failover: missing, extra and different items (R21)")
  .action(async () => {
    const report = await client().request<DriftReport>("GET", "/api/failover/drift");
    if (program.opts<GlobalOptions>().json) return print(report);
    const noun = report.differences === 1 ? "difference" : "differences";
    console.log(
      `${report.differences} ${noun} (checked ${report.checkedAt}, ${report.durationMs} ms)`,
    );
    for (const drift of report.domains) {
      const where = drift.domain ?? "(server)";
      for (const id of drift.missing) console.log(`  ${where}  missing on the failover  ${id}`);
      for (const id of drift.extra) console.log(`  ${where}  extra on the failover    ${id}`);
      for (const { id, fields } of drift.different)
        console.log(`  ${where}  different                ${id}  (${fields.join(", ")})`);
    }
    if (report.truncated) console.log("  … more than listed; `failover repair` fixes them all");
    // A script can tell drift from none by the exit code.
    if (report.differences > 0) process.exitCode = 2;
  });

failover
  .command("repair")
  .description(
    "send exactly the items verify finds different through automatic sync, no wipe (R21)",
  )
  .action(async () => {
    const answer = await client().request<{ repairId: string; items: number }>(
      "POST",
      "/api/failover/repair",
    );
    if (program.opts<GlobalOptions>().json) return print(answer);
    console.log(
      `repair ${answer.repairId}: ${answer.items} item(s) written again on production; automatic sync carries them (check with \`failover verify\`)`,
    );
  });

// Local mode's regions (R24): a whole region out and back, or only its API off the network.
const REGION_ACTIONS = ["down", "up", "offline", "online"] as const;
type RegionAction = (typeof REGION_ACTIONS)[number];
interface RegionView {
  name: string;
  id: string;
  url: string;
  state: "up" | "offline" | "down";
}
const REGION_OUTCOME: Record<RegionAction, string> = {
  down: "is down: its API refuses connections; its stream and queue pollers, schedules (the monitor), state machines and triggers are stopped; its table and queues keep their data",
  up: "is up: its API, pollers, schedules and triggers run again; the stream poller resumes after the last change it handled",
  offline: "is offline: its API refuses connections (everything else runs)",
  online: "is online: its API answers again",
};

program
  .command("region <name> [action]")
  .summary("local mode: `region list`; `region production|failover down|up|offline|online`")
  .description(
    "local mode: `region list` shows each region's state; `region <production|failover> <down|up|offline|online>` takes a whole region out as an outage would (down: API, stream and queue pollers, schedules, triggers stop; table and queues keep their data) and back (up), or only its API's port (offline|online). Sent through a region that stays up.",
  )
  .addHelpText(
    "after",
    "\nRegions: production (also: primary), failover.\nA region that is down or offline answers nothing: bring it back through the other one, e.g.\n  mft-failover --url http://127.0.0.1:8620 region production up",
  )
  .action(async (name: string, action: string | undefined) => {
    const options = program.opts<GlobalOptions>();
    const api = client();
    let regions: RegionView[];
    try {
      ({ items: regions } = await api.request<{ items: RegionView[] }>("GET", "/_local/regions"));
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new UsageError(unreachable(options.url));
    }
    if (name === "list") {
      if (action) throw new UsageError("`region list` takes no action");
      if (options.json) return print({ items: regions });
      for (const region of regions)
        console.log(`${region.name.padEnd(12)}${region.state.padEnd(9)}${region.url}`);
      return;
    }
    const target = regions.find((region) => region.name === name || region.id === name);
    if (!target) throw new UsageError(`no region ${name}: production or failover`);
    if (!REGION_ACTIONS.includes(action as RegionAction)) {
      throw new UsageError(`region ${name} <action>: one of ${REGION_ACTIONS.join(", ")}`);
    }
    // The region at --url answered, so it is up; it cannot answer for taking itself out.
    const here = regions.find((region) => new URL(region.url).href === new URL(options.url).href);
    const leaving = action === "down" || action === "offline";
    const via =
      leaving && (here === undefined || here === target)
        ? regions.find((region) => region !== target && region.state === "up")
        : (here ?? { url: options.url });
    if (!via) {
      throw new UsageError(`no other region is up to take ${target.name} ${action} through`);
    }
    const viaClient = new AdminClient(via.url, {
      username: options.user,
      password: options.password ?? "",
    });
    const view = await viaClient.request<RegionView>(
      "POST",
      `/_local/regions/${encodeURIComponent(target.name)}/${action}`,
    );
    if (options.json) return print(view);
    console.log(`${view.name} ${REGION_OUTCOME[action as RegionAction]}.`);
    if (leaving) {
      const back = action === "down" ? "up" : "online";
      console.log(`Bring it back: mft-failover --url ${via.url} region ${view.name} ${back}`);
    }
  });

/** A region refusing connections is down or offline: say so, and where to go instead. */
function unreachable(url: string): string {
  const port = new URL(url).port;
  const other =
    port === "8610" ? "http://127.0.0.1:8620" : port === "8620" ? "http://127.0.0.1:8610" : "";
  return `cannot reach ${url}: is its region down or offline? Region commands work through any region that is up${other ? `, e.g. --url ${other}` : " (--url of the other region)"}`;
}

interface FailbackView {
  failbackId: string;
  state: "running" | "succeeded" | "failed";
  step: string;
  steps: { name: string; state: string; reason?: string }[];
}

program
  .command("failback")
  .description(
    "on production, back after a region loss: take the failover's configuration and sync to it again, in six checked steps (R19); follows the run to its end",
  )
  .option("--resume <failbackId>", "continue a failed failback from the step that failed")
  .option("--host <host>", "production's host as the failover reaches it (local mode: this server)")
  .option("--port <port>", "production's port", (value) => Number(value))
  .option("--no-tls", "the failover reaches production over plain http (loopback only)")
  .option("--production-user <name>", "production's admin user, for the failover")
  .option("--production-password <password>", "production's admin password, for the failover")
  .action(
    async (options: {
      resume?: string;
      host?: string;
      port?: number;
      tls: boolean;
      productionUser?: string;
      productionPassword?: string;
    }) => {
      const api = client();
      const production = options.host
        ? {
            production: {
              host: options.host,
              ...(options.port ? { port: options.port } : {}),
              useTls: options.tls,
              username: options.productionUser ?? program.opts<GlobalOptions>().user,
              password: options.productionPassword ?? program.opts<GlobalOptions>().password,
            },
          }
        : {};
      const { failbackId } = await api.request<{ failbackId: string }>(
        "POST",
        "/api/failover/failback",
        { ...(options.resume ? { resume: options.resume } : {}), ...production },
      );
      const json = program.opts<GlobalOptions>().json;
      if (!json) console.log(`failback ${failbackId}`);
      const shown = new Set<string>();
      for (;;) {
        const view = await api.request<FailbackView>(
          "GET",
          `/api/failover/failbacks/${failbackId}`,
        );
        for (const [index, step] of view.steps.entries()) {
          const line = `  ${index + 1}. ${step.name.padEnd(26)} ${step.state}${step.reason ? `: ${step.reason}` : ""}`;
          if (json || step.state === "pending" || step.state === "running" || shown.has(line))
            continue;
          shown.add(line);
          console.log(line);
        }
        if (view.state !== "running") {
          if (json) print(view);
          else if (view.state === "failed")
            console.log(
              `stopped at ${view.step}; fix the cause, then: failback --resume ${failbackId}`,
            );
          else console.log("done: production serves again and syncs to the failover");
          if (view.state === "failed") process.exitCode = 1;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    },
  );

function heartbeatSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400)
    throw new UsageError(
      `MFT_HEARTBEAT_SECONDS must be a whole number of seconds from 1 to 86400, not ${value}`,
    );
  return seconds;
}

program
  .command("local")
  .description("run production and the failover on this machine (what `npm start` runs)")
  .action(async () => {
    const env = process.env;
    const runtime = await startLocal({
      primaryPort: Number(env.MFT_PRIMARY_PORT ?? 8610),
      failoverPort: Number(env.MFT_FAILOVER_PORT ?? 8620),
      ...(env.MFT_DATA_DIR ? { dataDir: env.MFT_DATA_DIR } : {}),
      ...(env.MFT_ADMIN_PASSWORD ? { adminPassword: env.MFT_ADMIN_PASSWORD } : {}),
      seed: env.MFT_SEED !== "0",
      ...(env.MFT_SMTP_PORT ? { smtpPort: Number(env.MFT_SMTP_PORT) } : {}),
      ...(env.MFT_HEARTBEAT_SECONDS
        ? { heartbeatSeconds: heartbeatSeconds(env.MFT_HEARTBEAT_SECONDS) }
        : {}),
    });
    console.log(
      [
        "mft-failover local mode",
        `  production  ${runtime.primary.url}`,
        `  failover    ${runtime.failover.url}`,
        `  admin       ${runtime.admin.username} / ${runtime.admin.password}`,
        `  mail        smtp://${runtime.mail.host}:${runtime.mail.port}  (trigger emails; \`mft-failover mail list\`)`,
        `  data        ${env.MFT_DATA_DIR ?? "in memory (set MFT_DATA_DIR to keep it)"}`,
        "Ctrl-C stops everything.",
      ].join("\n"),
    );
    const shutdown = async () => {
      await runtime.stop();
      process.exit(0);
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  });

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof ApiError) {
    console.error(`error: ${error.status} ${error.code}: ${error.message}`);
  } else if (
    error instanceof UsageError ||
    error instanceof LocalStartupError ||
    error instanceof SyntaxError
  ) {
    console.error(`error: ${error.message}`);
  } else {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exitCode = 1;
}
