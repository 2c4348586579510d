import { type Command, Option } from "commander";
import { type Cli, describe, EXIT, OutcomeError, UsageError } from "../context.ts";
import { momentOf } from "./time.ts";
import { type TriggerView, table, triggersTable } from "./trigger-view.ts";

/** A change as `GET /api/history` lists it (R26). */
export interface ChangeView {
  at: string;
  domain: string | null;
  id: string;
  op: "put" | "delete";
  version: number;
  origin: string;
  fields: string[];
}

interface DomainSnapshot {
  at: string;
  domain: Record<string, unknown> | null;
  users: Record<string, unknown>[];
  groups: Record<string, unknown>[];
  services: Record<string, unknown>[];
}

interface SettingsSnapshot {
  at: string;
  web: Record<string, unknown> | null;
  triggers: TriggerView[];
}

export interface RewindView {
  at: string;
  dryRun: boolean;
  added: string[];
  removed: string[];
  changed: { id: string; fields: string[] }[];
  applied?: number;
  skipped?: string[];
  remaining?: number;
}

/** The scope options of `history`, `snapshot` and `rewind`: one domain, or the server scope. */
interface ScopeOptions {
  domain?: string;
  settings?: boolean;
}

const MOMENT =
  "an ISO time (2026-12-08T09:30:00Z) or a time ago on this machine's clock (30s, 10m, 2h, 1d)";
const MAX_PAGE = 1000;

const scopeOptions = (command: Command) =>
  command
    .addOption(new Option("--domain <domain>", "a domain: its users, groups and services too"))
    .addOption(
      new Option("--settings", "the server scope: web settings and triggers").conflicts("domain"),
    );

/** The scope as the routes name it, and how the output names it. */
function scopeOf(options: ScopeOptions, required: boolean) {
  if (options.domain !== undefined) {
    const path = `/api/domains/${encodeURIComponent(options.domain)}`;
    return { domain: options.domain, path, name: options.domain };
  }
  if (required && !options.settings)
    throw new UsageError("give --domain <domain>, or --settings for the web settings and triggers");
  return { domain: undefined, path: "/api/settings", name: "the server settings" };
}

/** `history`, `snapshot`, `rewind` (R26): what changed, the state at a moment, and back to it. */
export function register(program: Command, cli: Cli): void {
  scopeOptions(
    program
      .command("history")
      .description(
        "what changed, newest first: time, item, operation, the fields it changed, and the server it was made on (R26); without --domain the server scope",
      ),
  )
    .option("--since <time>", `from this moment: ${MOMENT}`)
    .option("--until <time>", `up to this moment: ${MOMENT}`)
    .option("--limit <n>", "at most this many changes, 1 to 100000", limit, 100)
    .addHelpText(
      "after",
      `
Examples:
  mft-failover history --domain acme --since 1h
  mft-failover history --settings --limit 20`,
    )
    .action(async (options: ScopeOptions & { since?: string; until?: string; limit: number }) => {
      const scope = scopeOf(options, false);
      const query = new URLSearchParams();
      if (scope.domain !== undefined) query.set("domain", scope.domain);
      if (options.since) query.set("since", momentOf(options.since, "--since"));
      if (options.until) query.set("until", momentOf(options.until, "--until"));
      const api = cli.client();
      const { items, cursor } = await changesUpTo(
        (path) => api.request<ChangesPage>("GET", path),
        query,
        options.limit,
      );
      if (cli.json) return cli.print({ items, cursor });
      if (items.length === 0) return console.log(`no changes of ${scope.name} in that time`);
      console.log(
        table(
          ["TIME", "ITEM", "OP", "FIELDS", "ORIGIN"],
          items.map((change) => [
            change.at,
            change.id,
            change.op,
            change.fields.join(", ") || "–",
            change.origin,
          ]),
        ),
      );
      if (cursor) console.log(`… older changes too: a higher --limit, or --since, shows them`);
    });

  scopeOptions(
    program
      .command("snapshot")
      .description(
        "a domain (--domain) or the server scope (--settings) as it was at a moment: its items as their get commands show them, secrets never (R26)",
      ),
  )
    .requiredOption("--at <time>", `the moment: ${MOMENT}`)
    .addHelpText("after", "\nExample:\n  mft-failover snapshot --domain acme --at 10m")
    .action(async (options: ScopeOptions & { at: string }) => {
      const scope = scopeOf(options, true);
      const at = encodeURIComponent(momentOf(options.at, "--at"));
      const api = cli.client();
      if (scope.domain === undefined) {
        const snapshot = await api.request<SettingsSnapshot>(
          "GET",
          `${scope.path}/snapshot?at=${at}`,
        );
        if (cli.json) return cli.print(snapshot);
        console.log(`the server settings at ${snapshot.at}`);
        console.log(`web       ${snapshot.web ? describe(dataOf(snapshot.web)) : "(none)"}`);
        console.log(`triggers  (${snapshot.triggers.length})`);
        if (snapshot.triggers.length > 0) console.log(indent(triggersTable(snapshot.triggers)));
        return;
      }
      const snapshot = await api.request<DomainSnapshot>("GET", `${scope.path}/snapshot?at=${at}`);
      if (cli.json) return cli.print(snapshot);
      if (!snapshot.domain) return console.log(`${scope.name} did not exist at ${snapshot.at}`);
      console.log(`${scope.name} at ${snapshot.at}`);
      console.log(`domain    ${describe(dataOf(snapshot.domain))}`);
      for (const kind of ["users", "groups", "services"] as const) {
        console.log(`${kind.padEnd(8)}  (${snapshot[kind].length})`);
        for (const item of snapshot[kind]) console.log(`  ${describe(dataOf(item))}`);
      }
    });

  scopeOptions(
    program
      .command("rewind")
      .description(
        "put a domain (--domain) or the server scope (--settings) back as it was at a moment: a dry run that lists what would change, unless --apply; the rewind is written as new versions, which automatic sync carries to the failover (R26)",
      ),
  )
    .requiredOption("--at <time>", `the moment: ${MOMENT}`)
    .option("--apply", "write it (without it nothing is written)")
    .addHelpText(
      "after",
      `
Examples:
  mft-failover rewind --domain acme --at 2026-12-08T09:30:00Z           # what would change
  mft-failover rewind --domain acme --at 2026-12-08T09:30:00Z --apply   # change it

A rewind is a change like any other: it can itself be rewound. Run state (started, stopped)
stays as it is. Exit codes: 0 done (or nothing to do); 1 refused (a moment in the future or
before the history's retention, an unknown domain), or items changed meanwhile were kept.`,
    )
    .action(async (options: ScopeOptions & { at: string; apply?: boolean }) => {
      const scope = scopeOf(options, true);
      const at = momentOf(options.at, "--at");
      const post = () =>
        cli.client().request<RewindView>("POST", `${scope.path}/rewind`, {
          at,
          dryRun: !options.apply,
        });
      const answer = await rewindAll(post, (left) => {
        if (!cli.json) console.error(`${left} item(s) left: going on`);
      });
      if (cli.json) cli.print(answer);
      else console.log(rewindText(scope.name, answer));
      const skipped = answer.skipped ?? [];
      if (skipped.length > 0)
        throw new OutcomeError(
          "rewind_partial",
          `${skipped.length} item(s) changed again meanwhile were kept as they are: ${skipped.join(", ")}; rewind again to put them back too`,
          EXIT.failed,
        );
    });
}

/**
 * A rewind to its end: one too big for one answer says how much is left (`remaining`), and the
 * same rewind, posted again, writes what still differs. The first answer's plan, with what all
 * the calls applied and skipped.
 */
export async function rewindAll(
  post: () => Promise<RewindView>,
  goingOn: (left: number) => void,
): Promise<RewindView> {
  const answer = await post();
  for (let last = answer; (last.remaining ?? 0) > 0; ) {
    goingOn(last.remaining ?? 0);
    last = await post();
    answer.applied = (answer.applied ?? 0) + (last.applied ?? 0);
    answer.skipped = [...(answer.skipped ?? []), ...(last.skipped ?? [])];
    answer.remaining = last.remaining;
  }
  return answer;
}

type ChangesPage = { items: ChangeView[]; cursor: string | null };

/**
 * Up to `limit` changes, newest first, page after page (1000 at most each, as the API allows);
 * `cursor` is where older ones go on, or null when there are none.
 */
export async function changesUpTo(
  read: (path: string) => Promise<ChangesPage>,
  query: URLSearchParams,
  limit: number,
): Promise<ChangesPage> {
  const items: ChangeView[] = [];
  let cursor: string | null = null;
  do {
    const page = new URLSearchParams(query);
    page.set("limit", String(Math.min(MAX_PAGE, limit - items.length)));
    if (cursor) page.set("cursor", cursor);
    const answer = await read(`/api/history?${page}`);
    items.push(...answer.items);
    cursor = answer.cursor;
  } while (cursor && items.length < limit);
  return { items, cursor };
}

/** What a rewind would do, or did: one line an item. */
function rewindText(name: string, answer: RewindView): string {
  const rows = [
    ...answer.added.map((id) => ["add", id, ""]),
    ...answer.removed.map((id) => ["remove", id, ""]),
    ...answer.changed.map(({ id, fields }) => ["change", id, fields.join(", ")]),
  ];
  if (rows.length === 0) return `${name} is as it was at ${answer.at}: nothing to change`;
  const list = indent(table(["", "ITEM", "FIELDS"], rows).split("\n").slice(1).join("\n"));
  if (answer.dryRun)
    return `dry run: rewinding ${name} to ${answer.at} would\n${list}\nnothing written: add --apply to rewind`;
  return `rewound ${name} to ${answer.at}: ${answer.applied ?? 0} item(s) written\n${list}`;
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");

/** An item as the snapshot lists it: its data (run state is local, a rewind leaves it). */
const dataOf = ({ version: _, running: __, ...rest }: Record<string, unknown>) => rest;

function limit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 100_000)
    throw new UsageError(`--limit is a number from 1 to 100000, not ${value}`);
  return n;
}
