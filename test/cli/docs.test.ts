import { readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { startOwnRuntime } from "../support/runtime.ts";
import { shared } from "./run.ts";
import { run, shimDirectory, shows, type Walkthrough, walkthroughs } from "./walkthroughs.ts";

// The docs as tests (issue 28.9): every walkthrough marked `<!-- doc-test: … -->` in the README
// and docs/ runs as written, each against a local runtime of its own, as after `npm start`.
const FILES = ["README.md", ...readdirSync("docs").map((name) => `docs/${name}`)].filter((file) =>
  file.endsWith(".md"),
);
const ALL = FILES.flatMap((file) => walkthroughs(readFileSync(file, "utf8"), file));

interface Regions {
  readonly productionUrl: string;
  readonly failoverUrl: string;
  readonly password: string;
}

let shim: string;
beforeAll(async () => {
  shim = await shimDirectory();
});

/** Runs the walkthrough's steps in order; throws at the first that does not do what it says. */
async function play(walkthrough: Walkthrough, regions: Regions): Promise<void> {
  const production = new URL(regions.productionUrl);
  const failover = new URL(regions.failoverUrl);
  const rewrite = (text: string) =>
    text.replaceAll("127.0.0.1:8610", production.host).replaceAll("127.0.0.1:8620", failover.host);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PATH: `${shim}:${process.env.PATH}`,
    MFT_URL: regions.productionUrl,
    MFT_ADMIN_PASSWORD: regions.password,
    MFT_PRIMARY_PORT: production.port,
    MFT_FAILOVER_PORT: failover.port,
  };
  for (const step of walkthrough.steps) {
    const command = rewrite(step.command);
    // `npm start` (and `npm ci`): the runtime this test started stands for it.
    if (/^(?:[A-Z_]+=\S*\s+)*npm\s/.test(command)) continue;
    // `NAME=$(command)`: what the command prints, as the reader's shell would keep it.
    const captured = /^(?:export\s+)?([A-Z_]+)=\$\((.+)\)$/.exec(command);
    if (captured) {
      const [, name = "", inner = ""] = captured;
      const { code, output } = await run(inner, env);
      if (code !== 0)
        throw new Error(`${step.where}: \`${step.command}\` exited ${code}:\n${output}`);
      env[name] = output.trim();
      continue;
    }
    const assignment = /^(?:export\s+)?([A-Z_]+)=(\S*)$/.exec(command);
    if (assignment) {
      const [, name = "", value = ""] = assignment;
      if (value !== "…")
        env[name] = value.replace(/\$(\w+)/g, (_, used: string) => env[used] ?? "");
      continue;
    }
    const deadline = Date.now() + step.withinMs;
    for (;;) {
      const { code, output } = await run(command, env);
      const missing = shows(output, step.expected.map(rewrite));
      if (code === step.exit && missing === undefined) break;
      if (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      const why =
        code !== step.exit
          ? `exited ${code}, the text says ${step.exit}`
          : `did not print ${JSON.stringify(missing)}`;
      throw new Error(`${step.where}: \`${step.command}\` ${why}; it printed:\n${output}`);
    }
  }
}

/** At most `count` at once: each waits for a slot; the function it returns gives it back. */
function slotsOf(count: number): () => Promise<() => void> {
  let free = count;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return async () => {
    if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else free--;
    return release;
  };
}

describe("the docs' walkthroughs run as written (28.9)", () => {
  it("finds the walkthroughs the README promises", () => {
    expect(ALL.map((walkthrough) => walkthrough.name).sort()).toEqual([
      "automatic-sync",
      "disaster-recovery",
      "full-sync",
      "outage",
      "quick-start",
      "rewind",
      "triggers",
      "verify-repair",
    ]);
  });

  // Side by side, three at a time: each has its own regions, and most of a
  // walkthrough's time is waiting (backoff, suspension, a full sync).
  const slots = slotsOf(3);
  for (const walkthrough of ALL) {
    it.concurrent(`${walkthrough.name} (${walkthrough.steps[0]?.where})`, async () => {
      const release = await slots();
      const { MFT_SEED, MFT_HEARTBEAT_SECONDS } = walkthrough.options;
      try {
        const runtime = await startOwnRuntime({
          seed: MFT_SEED !== "0",
          ...(MFT_HEARTBEAT_SECONDS ? { heartbeatSeconds: Number(MFT_HEARTBEAT_SECONDS) } : {}),
        });
        try {
          await play(walkthrough, {
            productionUrl: runtime.production.url,
            failoverUrl: runtime.failover.url,
            password: runtime.admin.password,
          });
        } finally {
          await runtime.stop();
        }
      } finally {
        release();
      }
    }, 600_000);
  }

  it("fails a step that names a missing thing, exits otherwise, or promises what it does not print", async () => {
    const regions = { ...shared(), failoverUrl: shared().url };
    const broken = (block: string) =>
      walkthroughs(`<!-- doc-test: broken -->\n\`\`\`sh\n${block}\n\`\`\`\n`, "broken.md");
    const play1 = (block: string) =>
      play(broken(block)[0] as Walkthrough, {
        productionUrl: regions.url,
        failoverUrl: regions.failoverUrl,
        password: regions.password,
      });

    await expect(play1("mft-failover users get nowhere nobody")).rejects.toThrow(
      /^broken\.md:3: `mft-failover users get nowhere nobody` exited 1, the text says 0/,
    );
    await expect(play1("mft-failover domains list     # → 3")).rejects.toThrow(
      /exited 0, the text says 3/,
    );
    await expect(play1("mft-failover domains list\nno-such-domain")).rejects.toThrow(
      /did not print "no-such-domain"/,
    );
    await expect(
      play1("mft-failover failover get\nautoSync=…  enabled=…"),
    ).resolves.toBeUndefined();
    // A value the shell computes (`T=$(date …)`) is kept for the next commands.
    await expect(play1("KIND=$(echo domains)\nmft-failover $KIND list")).resolves.toBeUndefined();
  });
});
