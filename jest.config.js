/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/__tests__/**/*.test.ts"],
  // Tests that need tools from outside the repository: npm run test:system (jest.system.config.js).
  testPathIgnorePatterns: ["/node_modules/", "\\.system\\.test\\.ts$"],
  transform: { "^.+\\.tsx?$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  setupFilesAfterEnv: ["<rootDir>/setup.js"],
  maxWorkers: 2,
  testTimeout: 60000,
};
