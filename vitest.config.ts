import { configDefaults, defineConfig } from "vitest/config";

// Two tiers. `fast`: the pure rules, adapters on narrow mocks and the synthesized stack — no
// local runtime, no JVM (`npm run test:fast`). `runtime`: everything that runs the real handlers
// on DynamoDB Local and the SQS server, which its global setup starts once (files that run
// regions of their own keep their tables in that same DynamoDB Local). `npm test` runs both.
const needsRuntime = "test/infra/permissions.test.ts"; // the SDK calls of running handlers
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Four files at a time on 2 cores: the runtime files mostly wait (heartbeats, outages,
    // backoff), and vitest's default (one worker less than the cores) ran them one by one.
    maxWorkers: 4,
    // Every project: the run's folder, where the first file to synthesize the app leaves it.
    globalSetup: ["test/support/run-folder.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "fast",
          include: ["test/{unit,infra}/**/*.test.ts"],
          exclude: [...configDefaults.exclude, needsRuntime],
        },
      },
      {
        extends: true,
        test: {
          name: "runtime",
          include: ["test/{integration,fault,cli,browser}/**/*.test.ts", needsRuntime],
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
    ],
  },
});
