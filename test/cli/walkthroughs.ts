import { spawn } from "node:child_process";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The docs as tests (issue 28.9). A fenced `sh` block right after the comment
 * `<!-- doc-test: <walkthrough> [KEY=VALUE …] -->` is run, command by command as written, by
 * test/cli/docs.test.ts; blocks with the same name share one local runtime, in document order
 * (KEY=VALUE: `MFT_HEARTBEAT_SECONDS`, `MFT_SEED`, as `npm start` takes them). In such a block:
 * - a line that starts with `npx mft-failover`, `mft-failover`, `curl`, `export` or `NAME=` is a
 *   command (a `\` at the end, or an open quote, continues it on the next line); `npm …` lines
 *   are what the test does itself (it starts the runtime);
 * - every command must exit 0, unless its comment ends in `→ N` or says `(exit N)`;
 * - a comment that says `within N s` retries the command until it passes, for up to N s;
 * - the lines after a command that are not commands are its expected output: each must appear in
 *   what it printed (stdout and stderr), in order; `…` stands for anything;
 * - `NAME=…` (an ellipsis) is a value the reader copies from `npm start`'s banner: the test
 *   gives it; `NAME=$(command)` keeps what the command prints (a moment: `T=$(date …)`);
 *   `; echo $?` after a command is for the reader, the exit code is checked anyway.
 * The walkthroughs name `127.0.0.1:8610` and `:8620`; the test's regions listen elsewhere, so
 * those addresses are rewritten to them.
 */
export interface Step {
  readonly where: string;
  readonly command: string;
  readonly exit: number;
  readonly expected: string[];
  readonly withinMs: number;
}

export interface Walkthrough {
  readonly name: string;
  readonly options: Record<string, string>;
  readonly steps: Step[];
}

const MARKER = /^<!--\s*doc-test:\s*(\S+)((?:\s+[A-Z_]+=\S+)*)\s*-->$/;
const COMMAND = /^(npx mft-failover|mft-failover|curl|export|npm|[A-Z_]+=)/;

/** The walkthroughs of one markdown file, by name, their blocks' steps in order. */
export function walkthroughs(markdown: string, file: string): Walkthrough[] {
  const lines = markdown.split("\n");
  const found = new Map<string, Walkthrough>();
  lines.forEach((line, index) => {
    const marker = MARKER.exec(line.trim());
    if (!marker) return;
    const [, name = "", settings = ""] = marker;
    if (!/^```(sh|bash)\s*$/.test(lines[index + 1] ?? ""))
      throw new Error(`${file}:${index + 1}: doc-test marker not followed by a \`\`\`sh block`);
    const end = lines.findIndex((text, at) => at > index + 1 && text.startsWith("```"));
    const options = Object.fromEntries(
      settings
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map((pair) => pair.split("=") as [string, string]),
    );
    const walkthrough = found.get(name) ?? { name, options: {}, steps: [] };
    Object.assign(walkthrough.options, options);
    walkthrough.steps.push(...steps(lines.slice(index + 2, end), file, index + 3));
    found.set(name, walkthrough);
  });
  return [...found.values()];
}

/** A block's commands with their expectations; `first` is the block's first line number. */
function steps(block: string[], file: string, first: number): Step[] {
  const result: { where: string; command: string; comment: string; expected: string[] }[] = [];
  for (let at = 0; at < block.length; at++) {
    const text = block[at] ?? "";
    if (text.trim() === "" || text.trim().startsWith("#")) continue;
    if (!COMMAND.test(text.trim())) {
      const last = result.at(-1);
      if (!last) throw new Error(`${file}:${first + at}: expected output before any command`);
      last.expected.push(text.trim());
      continue;
    }
    // One command: lines joined while a quote is open or a line ends with `\`.
    const where = `${file}:${first + at}`;
    let command = "";
    let comment = "";
    let quote = "";
    for (;;) {
      const line = block[at] ?? "";
      let cut = line.length;
      for (let i = 0; i < line.length; i++) {
        const char = line[i];
        if (quote) {
          if (char === quote) quote = "";
        } else if (char === "'" || char === '"') quote = char;
        else if (char === "#" && (i === 0 || /\s/.test(line[i - 1] ?? ""))) {
          cut = i;
          break;
        }
      }
      comment += ` ${line.slice(cut + 1).trim()}`;
      const code = line.slice(0, cut).trimEnd();
      if (quote) command += `${line}\n`;
      else if (code.endsWith("\\")) command += `${code.slice(0, -1)} `;
      else {
        command += code;
        break;
      }
      at++;
      if (at >= block.length) throw new Error(`${where}: the command never ends`);
    }
    result.push({ where, command: command.trim(), comment: comment.trim(), expected: [] });
  }
  return result.map(({ where, command, comment, expected }) => {
    const exit = /→\s*(\d+)\s*$/.exec(comment) ?? /\(exit (\d+)\)/.exec(comment);
    const within = /within (\d+) s\b/.exec(comment);
    return {
      where,
      command: command.replace(/;\s*echo \$\?$/, ""),
      exit: exit ? Number(exit[1]) : 0,
      expected,
      withinMs: within ? Number(within[1]) * 1000 : 0,
    };
  });
}

export interface Outcome {
  code: number;
  output: string;
}

/** Where the walkthrough's commands run: `mft-failover` on the PATH, as `npm link` puts it. */
export async function shimDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mft-doc-test-"));
  const cli = resolve("bin/mft-failover.js");
  await writeFile(join(dir, "mft-failover"), `#!/bin/sh\nexec node "${cli}" "$@"\n`);
  await chmod(join(dir, "mft-failover"), 0o755);
  return dir;
}

/**
 * Runs one command in bash with the walkthrough's variables. `--watch` runs until its first
 * block is printed, then is stopped, as the reader would with Ctrl-C.
 */
export function run(command: string, env: Record<string, string>): Promise<Outcome> {
  const watch = /\s--watch\b/.test(command);
  return new Promise((done) => {
    const child = spawn("bash", ["-c", command.replace(/^npx mft-failover\b/, "mft-failover")], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    const stop = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // Ended already.
      }
    };
    const timer = setTimeout(stop, 300_000); // a command that hangs ends as a failure
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      if (watch && output.includes("\n\n")) stop();
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code: watch && output.includes("\n\n") ? 0 : (code ?? -1), output });
    });
  });
}

/** Whether `output` shows each expected line, in order (`…` stands for anything). */
export function shows(output: string, expected: string[]): string | undefined {
  let from = 0;
  for (const line of expected) {
    const pattern = new RegExp(
      line
        .split("…")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*?"),
    );
    const match = pattern.exec(output.slice(from));
    if (!match) return line;
    from += match.index + match[0].length;
  }
  return undefined;
}
