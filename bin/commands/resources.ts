import type { Command } from "commander";
import { bodyFrom, type Cli } from "../context.ts";
import { triggerDetail, triggersTable } from "./trigger-view.ts";

interface Resource {
  /** The command: domains, users, … */
  name: string;
  /** One of them, in the help: "a domain". */
  one: string;
  /** The group's description. */
  title: string;
  /** Path arguments before the id (users are per domain). */
  scope: string[];
  id: string;
  path: (scope: string[]) => string;
  /** The fields `put` takes, in plain words (shared/model/schemas.ts). */
  fields: string;
  example: string;
  /** How `list` and `get` show it without --json (else one line of key=value per item). */
  show?: { list: (items: never[]) => string; one: (item: never) => string };
}

const RESOURCES: Resource[] = [
  {
    name: "domains",
    one: "a domain",
    title: "domains, each with its users, groups and services",
    scope: [],
    id: "domain",
    path: () => "/api/domains",
    fields: `  description   text (default "")
  limits        {"maxUsers": n, "maxSessions": n, "maxStorageMb": n}, each optional
A new domain is stopped: \`start <domain>\` runs it.`,
    example: 'domains put acme description="Acme Corp"',
  },
  {
    name: "users",
    one: "a user of a domain",
    title: "users of a domain",
    scope: ["domain"],
    id: "username",
    path: ([domain]) => `/api/domains/${domain}/users`,
    fields: `  password       8 characters or more; required for a new user, kept when left out
                 (password=@file reads it from a file, password=- asks for it)
  homeDirectory  an absolute path (required)
  email          an email address (optional)
  enabled        true or false (default true)
  groups         names of groups of the same domain, which must exist: ["staff"] (default [])`,
    example:
      "users put acme carol password=carol-secret-1 homeDirectory=/data/acme/carol groups='[\"staff\"]'",
  },
  {
    name: "groups",
    one: "a group of a domain",
    title: "groups of a domain",
    scope: ["domain"],
    id: "group",
    path: ([domain]) => `/api/domains/${domain}/groups`,
    fields: `  description   text (default "")`,
    example: 'groups put acme staff description="Everyone"',
  },
  {
    name: "services",
    one: "a file-transfer service of a domain",
    title: "file-transfer services of a domain (SFTP, FTPS, HTTPS, …)",
    scope: ["domain"],
    id: "id",
    path: ([domain]) => `/api/domains/${domain}/services`,
    fields: `  protocol   SFTP, FTP, FTPS, HTTPS, AS2 or WEBDAV (required)
  ip         the address it listens on (required; the failover may substitute it)
  port       1 to 65535 (required)`,
    example: "services put acme sftp protocol=SFTP ip=10.0.0.21 port=22",
  },
  {
    name: "triggers",
    one: "a trigger",
    title: "triggers: email and HTTP actions run on Failover Synchronization events",
    scope: [],
    id: "id",
    path: () => "/api/triggers",
    fields: `  event        "Failover Synchronization" (required)
  description  text (default "")
  enabled      true or false (default true)
  condition    when to act (optional: on every event), e.g.
                 {"variable": "Success", "op": "==", "value": false}
               variables Success, Mode, Items, Reason, Primary, Failover; op == or != (Items
               also < and >); combine with {"and": [...]} or {"or": [...]}
  actions      1 to 10 of
                 {"type": "email", "to": ["ops@example.com"], "subject": "…", "body": "…"}
                 {"type": "http", "url": "https://…", "method": "POST", "headers": {…}, "body": "…",
                  "timeoutMs": 5000, "retries": 2}; a secret header: {"Authorization": {"secret": "…"}}
               subject, body, url and headers take {{Variable}} placeholders (Success, Mode, Reason, …)`,
    show: { list: triggersTable, one: triggerDetail },
    example:
      'triggers put sync-failed --data \'{"event": "Failover Synchronization", "condition": {"variable": "Success", "op": "==", "value": false}, "actions": [{"type": "email", "to": ["ops@example.com"], "subject": "sync failed: {{Reason}}"}]}\'',
  },
];

/** list/get/put/delete for each kind of entity, and a domain's start/stop. */
export function register(program: Command, cli: Cli): void {
  for (const resource of RESOURCES) registerResource(program, cli, resource);
  for (const action of ["start", "stop"] as const) {
    program
      .command(`${action} <domain>`)
      .description(
        action === "start"
          ? "run a domain: its services serve (run state, kept on this server only)"
          : "stop a domain: its services stop serving (run state, kept on this server only)",
      )
      .action(async (domain: string) => {
        cli.print(
          await cli
            .client()
            .request("POST", `/api/domains/${encodeURIComponent(domain)}/${action}`),
        );
      });
  }
}

function registerResource(program: Command, cli: Cli, resource: Resource): void {
  const { name, scope, id } = resource;
  const command = program
    .command(name)
    .description(
      `${resource.title} (list, get, put, delete${name === "triggers" ? "; runs: what they did" : ""})`,
    )
    .addHelpText("after", `\nFields of \`${name} put\`:\n${resource.fields}`);
  const args = (list: string[]) => list.map((arg) => `<${arg}>`).join(" ");
  const encode = (values: unknown[]) => (values as string[]).map(encodeURIComponent);
  const itemPath = (values: unknown[]) => {
    const keys = encode(values.slice(0, scope.length + 1));
    return `${resource.path(keys.slice(0, -1))}/${keys.at(-1)}`;
  };
  command
    .command(`list ${args(scope)}`.trim())
    .description(`list all ${name}${scope.length ? ` of the ${scope.join(", ")}` : ""}`)
    .action(async (...values: unknown[]) => {
      const base = resource.path(encode(values.slice(0, scope.length)));
      const api = cli.client();
      const items: unknown[] = [];
      let cursor: string | undefined;
      do {
        const page = await api.request<{ items: unknown[]; nextCursor?: string }>(
          "GET",
          `${base}?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        );
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      if (resource.show && !cli.json) console.log(resource.show.list(items as never[]));
      else cli.print({ items });
    });
  command
    .command(`get ${args([...scope, id])}`)
    .description(`show ${resource.one}`)
    .action(async (...values: unknown[]) => {
      const item = await cli.client().request<never>("GET", itemPath(values));
      if (resource.show && !cli.json) console.log(resource.show.one(item));
      else cli.print(item);
    });
  command
    .command(`put ${args([...scope, id])} [fields...]`)
    .description(
      `create or replace ${resource.one}: the fields as key=value (values are read as JSON when they can be: port=22, enabled=false), or the whole body with --data or --file`,
    )
    .option("--data <json>", "the whole body as a JSON object")
    .option("--file <path>", "read the body from a JSON file (- for stdin)")
    .addHelpText(
      "after",
      `\nFields:\n${resource.fields}\n  version        optional: write only over this version (else 409)\n\nExample:\n  mft-failover ${resource.example}`,
    )
    .action(async (...values: unknown[]) => {
      const pairs = values[scope.length + 1] as string[];
      const options = values[scope.length + 2] as { data?: string; file?: string };
      const body = await bodyFrom(pairs, options);
      cli.print(await cli.client().request("PUT", itemPath(values), body));
    });
  command
    .command(`delete ${args([...scope, id])}`)
    .description(
      `delete ${resource.one}${name === "domains" ? " with its users, groups and services" : ""}`,
    )
    .action(async (...values: unknown[]) => {
      const path = itemPath(values);
      await cli.client().request("DELETE", path);
      const ids = (values.slice(0, scope.length + 1) as string[]).join("/");
      if (cli.json) cli.print({ deleted: true, path });
      else console.log(`deleted ${name} ${ids}`);
    });
}
