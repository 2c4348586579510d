import { defineConfig } from "vitest/config";

// Two tiers. `fast`: the pure rules, adapters on narrow mocks and the synthesized stack — no
// local runtime, no JVM (`npm run test:fast`). `runtime`: everything that runs the real handlers
// on DynamoDB Local and the SQS server, which its global setup starts once. `npm test` runs both.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: "fast", include: ["test/{unit,infra}/**/*.test.ts"] },
      },
      {
        extends: true,
        test: {
          name: "runtime",
          include: ["test/{integration,fault,cli,browser}/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
    ],
  },
});
