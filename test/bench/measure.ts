import { spawn } from "node:child_process";

/** What one phase of a benchmark did to the process's memory. */
export interface PhaseMemory {
  /** The process's peak resident set during the phase. */
  peakRssMb: number;
  /** The JavaScript heap still in use at the end of the phase, after a full GC. */
  heapAfterGcMb: number;
}

/**
 * Runs `script --child <size>` in a fresh Node process (with `--expose-gc`), so its peak RSS is
 * its own, and resolves with the JSON the child prints last on stdout.
 */
export function inChild<T>(script: string, size: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--expose-gc", "--import", "tsx", script, "--child", String(size)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0) reject(new Error(`benchmark child exited ${code}`));
      else resolve(JSON.parse(line) as T);
    });
  });
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * Samples RSS every 50 ms; `phase()` returns the peak since the last call and the heap that a
 * full GC leaves (what the run holds on to, as opposed to garbage not yet collected).
 */
export function memorySampler() {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return {
    phase(): PhaseMemory {
      const peakRssMb = mb(Math.max(peak, process.memoryUsage().rss));
      globalThis.gc?.();
      peak = 0;
      return { peakRssMb, heapAfterGcMb: mb(process.memoryUsage().heapUsed) };
    },
    stop: () => clearInterval(timer),
  };
}

/** The size to run when this file was started as a benchmark's child process, if it was. */
export function childSize(script: string): number | undefined {
  const index = process.argv.indexOf("--child");
  return index > 0 && process.argv[1] === script ? Number(process.argv[index + 1]) : undefined;
}
