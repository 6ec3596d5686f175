/**
 * `npm run test:system`: the tests that need tools from outside the repository (Debian's AWS CLI
 * v2 at /usr/bin/aws, heif-enc, file, Chromium at /usr/bin/chromium), `*.system.test.ts`.
 * `.ci/run` installs them and runs these after `npm test` and `npm run test:infra`.
 */
const base = require("./jest.config");

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ["**/__tests__/**/*.system.test.ts"],
  testPathIgnorePatterns: ["/node_modules/"],
};
