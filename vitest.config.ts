import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "edge-runtime",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
    testTimeout: 120_000,
  },
});
