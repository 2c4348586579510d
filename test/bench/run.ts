/** `npm run bench -- <name>`: runs one benchmark (all when no name is given). Not part of `npm test`. */
const benchmarks: Record<string, () => Promise<void>> = {
  partial: async () => (await import("./partial.ts")).partial(),
  full: async () => (await import("./full-sync.ts")).full(),
  verify: async () => (await import("./verify.ts")).verifyBench(),
  rewind: async () => (await import("./rewind.ts")).rewindBench(),
};

const names = process.argv.slice(2);
for (const name of names.length ? names : Object.keys(benchmarks)) {
  const run = benchmarks[name];
  if (!run) {
    console.error(`unknown benchmark ${name}; choose from: ${Object.keys(benchmarks).join(", ")}`);
    process.exit(2);
  }
  await run();
}
