/**
 * `npm test`: every test that needs only `npm ci`. The other tiers: `npm run test:infra`
 * (jest.infra.config.js, real Terraform) and `npm run test:system` (jest.system.config.js, Debian
 * tools). `.ci/run` runs all three.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/__tests__/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "\\.(infra|system)\\.test\\.ts$"],
  transform: { "^.+\\.tsx?$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  setupFilesAfterEnv: ["<rootDir>/setup.js"],
  // Builds dist/ once; no Terraform: a stand-in answers cdktf's `terraform version`, refuses the rest.
  globalSetup: "<rootDir>/__tests__/support/global-setup.ts",
  maxWorkers: 2,
  // A worker that has loaded TypeScript, sharp and the AWS SDK needs ~0.4 s to exit after its
  // last test file on a loaded 2-core machine (measured with no timer, socket, server or child
  // process left open), past Jest's 500 ms default, and was reported as "failed to exit
  // gracefully". A real leak (a handle still open 3 s later) is still force-exited and reported.
  workerGracefulExitTimeout: 3000,
  testTimeout: 60000,
};
