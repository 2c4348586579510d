import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { AdminClient } from "./api-client.ts";

export interface GlobalOptions {
  url: string;
  user: string;
  password?: string;
  json?: boolean;
}

/** Exit codes: one meaning each, the same for every command (docs/interfaces.md, "The CLI"). */
export const EXIT = {
  ok: 0,
  /** The server refused (an API error), or what the command checks or runs failed. */
  failed: 1,
  /** The command line or the environment is wrong. */
  usage: 2,
  /** Nothing answered at the URL. */
  unreachable: 3,
  /** `failover verify` found differences. */
  drift: 4,
} as const;

/** A wrong command line or environment variable: exit 2, nothing was sent. */
export class UsageError extends Error {}

/**
 * The request was answered, but what the command checks or runs failed (`failover test`,
 * `failback`, `sync --wait`): its answer is printed, then this error, and the exit code is 1.
 */
export class OutcomeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** An http(s) URL, or a UsageError naming where it came from. */
export function checkUrl(url: string, from: string): URL {
  if (!/^https?:\/\//i.test(url)) {
    throw new UsageError(
      `${from} ${url} has no scheme: give it as http://${url.replace(/^[a-z]+:\/*/i, "")} (or https://)`,
    );
  }
  try {
    return new URL(url);
  } catch {
    throw new UsageError(`${from} ${url} is not a URL`);
  }
}

/** What every command gets: the global options, the API client, the printer. */
export class Cli {
  constructor(readonly program: Command) {}

  get options(): GlobalOptions {
    return this.program.opts<GlobalOptions>();
  }

  get json(): boolean {
    return this.options.json === true;
  }

  /** The client of the admin API at `url` (default: --url). */
  client(url = this.options.url): AdminClient {
    const options = this.options;
    const from = this.program.getOptionValueSource("url") === "env" ? "MFT_URL" : "--url";
    checkUrl(url, from);
    if (!options.password) {
      throw new UsageError("the admin password is needed: --password or MFT_ADMIN_PASSWORD");
    }
    return new AdminClient(url, { username: options.user, password: options.password });
  }

  /** With --json the value as JSON; else one line per item (see describe). */
  print(value: unknown): void {
    if (this.json) {
      console.log(JSON.stringify(value ?? { ok: true }, null, 2));
      return;
    }
    const items = (value as { items?: unknown[] } | undefined)?.items;
    for (const item of items ?? [value]) console.log(describe(item));
  }
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

/** A JSON object given on the command line or in a file, or a UsageError naming where. */
function jsonObject(text: string, from: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${from} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`${from} must be a JSON object ({…})`);
  }
  return value as Record<string, unknown>;
}

/** The request body: --file or --data, then the key=value pairs over it. */
export async function bodyFrom(pairs: string[], options: { data?: string; file?: string }) {
  let base: Record<string, unknown> = {};
  if (options.file) {
    const path = options.file === "-" ? "/dev/stdin" : options.file;
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      throw new UsageError(`--file ${options.file}: ${(error as Error).message}`);
    }
    base = jsonObject(text, `--file ${options.file}`);
  } else if (options.data !== undefined) {
    base = jsonObject(options.data, "--data");
  }
  return { ...base, ...parsePairs(pairs) };
}

/** A port from the environment variable `name` (0: any free port), or a UsageError naming it. */
export function portFromEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65_535) {
    throw new UsageError(`${name} must be a port number from 0 to 65535, not "${value}"`);
  }
  return port;
}

/** Local mode's two regions as `npm start` in this environment puts them (MFT_*_PORT). */
export function localRegionUrls(): { production: string; failover: string } {
  return {
    production: `http://127.0.0.1:${portFromEnv("MFT_PRIMARY_PORT", 8610)}`,
    failover: `http://127.0.0.1:${portFromEnv("MFT_FAILOVER_PORT", 8620)}`,
  };
}
