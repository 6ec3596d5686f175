/**
 * `npm run test:infra`: the tests that run the real Terraform CLI (`*.infra.test.ts`): offline
 * plans of the synthesized stacks and sequences of deploys. They need `terraform` on PATH and
 * use an offline provider mirror when one exists (see __tests__/support/terraform.ts). The global
 * setup runs `terraform init` once for the whole run; every test plans on it.
 */
const base = require("./jest.config");

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ["**/__tests__/**/*.infra.test.ts"],
  testPathIgnorePatterns: ["/node_modules/"],
  globalSetup: "<rootDir>/__tests__/support/terraform-setup.ts",
  globalTeardown: "<rootDir>/__tests__/support/terraform-teardown.ts",
  // Independent sequences (it.concurrent) plan side by side, two at a time: one per core.
  maxConcurrency: 2,
};
