import { mkdir, readFile, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where every benchmark writes its results: test/bench/results/<name>.json. The docs' tables are
 * made from these files (`npm run bench:tables`), never typed by hand.
 */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "results");

export const resultsFile = (name: string) => join(RESULTS_DIR, `${name}.json`);

/** The machine a run measured on: other work on it skews every figure, so the load goes in too. */
export interface Machine {
  readonly node: string;
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGb: number;
  readonly platform: string;
  /** 1-minute load average when the run started and when it ended (its own load included). */
  readonly loadAverage: { readonly start: number; readonly end: number };
}

const round2 = (value: number) => Number(value.toFixed(2));

/** Call at the start of a run; `end()` at its end gives the machine facts for the result. */
export function machineFacts() {
  const start = round2(loadavg()[0] ?? 0);
  return {
    end: (): Machine => ({
      node: process.version,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model.trim() ?? "unknown",
      memoryGb: Math.round(totalmem() / 2 ** 30),
      platform: `${process.platform} ${process.arch}`,
      loadAverage: { start, end: round2(loadavg()[0] ?? 0) },
    }),
  };
}

/** What every results file holds: the last runs, newest last. */
export interface Results<Run> {
  readonly runs: readonly Run[];
}

export async function readResults<Run>(name: string): Promise<Results<Run>> {
  return JSON.parse(await readFile(resultsFile(name), "utf8")) as Results<Run>;
}

/** Appends a run to test/bench/results/<name>.json, keeping the last `keep`. */
export async function saveRun(name: string, run: object, keep = 3): Promise<string> {
  const file = resultsFile(name);
  let runs: object[] = [];
  try {
    runs = [...(await readResults<object>(name)).runs];
  } catch {}
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(file, `${asBiomeFormats({ runs: [...runs, run].slice(-keep) })}\n`);
  return file;
}

/**
 * JSON as `biome format` leaves it (so `npm run lint` passes on the results): objects one key a
 * line, arrays of plain values on one line when short.
 */
export function asBiomeFormats(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\[\n\s*([^[\]{}]*?)\n\s*\]/g,
    (whole, items: string) => {
      const inline = `[${items.split(/,\n\s*/).join(", ")}]`;
      return inline.length <= 60 ? inline : whole;
    },
  );
}
