import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/{unit,integration,fault,infra}/**/*.test.ts",
      "test/cli/**/*.test.ts",
      "test/browser/**/*.test.ts",
    ],
    globalSetup: ["test/support/global-setup.ts"],
    // The SDK warns that its 2027 releases need Node 22; the versions pinned here support Node 20.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
