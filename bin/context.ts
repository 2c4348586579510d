import { readFile } from "node:fs/promises";
import { text } from "node:stream/consumers";
import type { Command } from "commander";
import { isLoopback } from "../shared/model/hosts.ts";
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
  /** `failover verify` found differences; `failover wait`: differences sync will not carry. */
  drift: 4,
  /** `failover wait` timed out: changes still on their way. */
  timeout: 5,
  /** `failover status`: not in step (suspended, unreachable, heartbeat missed, DLQ not empty). */
  notInStep: 6,
} as const;

/** A wrong command line or environment variable: exit 2, nothing was sent. */
export class UsageError extends Error {}

/**
 * The request was answered, but what the command checks or runs failed (`failover test`,
 * `failback`, `sync --wait`, `failover wait`): its answer is printed, then this error, and the
 * exit code is 1 unless the command has one of its own.
 */
export class OutcomeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exit: number = EXIT.failed,
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

/**
 * Every password the CLI takes (`--password` or MFT_ADMIN_PASSWORD, `--production-password`, a
 * `password=` field) is given one of three ways, so that it need not sit in argv (`ps`, shell
 * history) or the environment:
 * - `@path`: the file's first line;
 * - `-`: typed at a prompt, without echo, when standard input is a terminal; else the next line
 *   of standard input (several `-` in one call read one line each, in the order asked);
 * - anything else: the password itself.
 * `from` names where it was given (for errors), `what` the password (for the prompt).
 */
export async function password(value: string, from: string, what: string): Promise<string> {
  const given =
    value === "-"
      ? process.stdin.isTTY
        ? await prompt(`${what}: `)
        : await nextLine(from)
      : value.startsWith("@")
        ? await firstLine(value.slice(1), from)
        : value;
  if (given === "") throw new UsageError(`${from} ${value}: the password is empty`);
  return given;
}

async function firstLine(path: string, from: string): Promise<string> {
  try {
    return (await readFile(path, "utf8")).split(/\r?\n/)[0] ?? "";
  } catch (error) {
    throw new UsageError(`${from} @${path}: ${(error as Error).message}`);
  }
}

/** Standard input is read once, by the passwords given as `-` or by `--file -`, not both. */
let stdinReader: "--file -" | "passwords" | undefined;
function claimStdin(reader: "--file -" | "passwords", from: string): void {
  if (stdinReader !== undefined && stdinReader !== reader) {
    throw new UsageError(
      `${from} and ${stdinReader === "passwords" ? "a password given as -" : stdinReader} cannot both read standard input: give the password as @file`,
    );
  }
  stdinReader = reader;
}

let stdinLines: Promise<string[]> | undefined;

async function nextLine(from: string): Promise<string> {
  claimStdin("passwords", `${from} -`);
  stdinLines ??= text(process.stdin).then((input) => input.split(/\r?\n/));
  const line = (await stdinLines).shift();
  if (line === undefined || line === "") {
    throw new UsageError(`${from} -: standard input gave no password`);
  }
  return line;
}

/** Reads one line from the terminal with its echo off (raw mode), the prompt on stderr. */
function prompt(label: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(label);
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = "";
    const end = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n" || char === "\u0004") {
          end();
          return resolve(typed);
        }
        if (char === "\u0003") {
          end();
          return reject(new UsageError(`${label.trim()} cancelled`));
        }
        typed = char === "\u007f" || char === "\b" ? typed.slice(0, -1) : typed + char;
      }
    };
    stdin.on("data", onData);
  });
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

  /** Where the admin password was given: `MFT_ADMIN_PASSWORD` or `--password`. */
  get passwordFrom(): string {
    return this.program.getOptionValueSource("password") === "env"
      ? "MFT_ADMIN_PASSWORD"
      : "--password";
  }

  /** The admin password as given (`@file`, `-`: see password()), read once before any command runs. */
  async readPassword(): Promise<void> {
    const given = this.options.password;
    if (!given) return; // client() says it is needed, where it is.
    const source = this.program.getOptionValueSource("password");
    this.program.setOptionValueWithSource(
      "password",
      await password(given, this.passwordFrom, "admin password"),
      source,
    );
  }

  private readonly warned = new Set<string>();

  /** The client of the admin API at `url` (default: --url). */
  client(url = this.options.url): AdminClient {
    const options = this.options;
    const from = this.program.getOptionValueSource("url") === "env" ? "MFT_URL" : "--url";
    const target = checkUrl(url, from);
    if (!options.password) {
      throw new UsageError("the admin password is needed: --password or MFT_ADMIN_PASSWORD");
    }
    // Basic credentials are only encoded: over plain http they can be read on the way.
    const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
    if (target.protocol === "http:" && !isLoopback(host) && !this.warned.has(target.origin)) {
      this.warned.add(target.origin);
      console.error(
        `warning: ${target.origin} is not https: the admin password would cross the network in clear`,
      );
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
export function describe(item: unknown): string {
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

/**
 * The request body: --file or --data, then the key=value pairs over it; a `password=` pair is
 * given as every password is (`@file`, `-`: see password()).
 */
export async function bodyFrom(pairs: string[], options: { data?: string; file?: string }) {
  let base: Record<string, unknown> = {};
  if (options.file) {
    if (options.file === "-") claimStdin("--file -", "--file -");
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
  const fields = parsePairs(pairs);
  if (typeof fields.password === "string") {
    fields.password = await password(fields.password, "password=", "password");
  }
  return { ...base, ...fields };
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
