import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Finds or starts the PostgreSQL server used by test/support/postgres.ts.
    globalSetup: ["test/support/global-setup.ts"],
    // Child processes: each test file gets its own process (and pg pools), files run in parallel.
    pool: "forks",
    testTimeout: 30_000,
    // Long enough for per-file database creation and for initdb-heavy hooks.
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
