#!/usr/bin/env node
// Entry point of the `thumbnailer` command (package.json "bin"): runs the compiled local tools.
// `npm run build` (or `npm test`, whose pretest builds) produces dist/.

let cli;
try {
  cli = require("../dist/local/cli.js");
} catch (error) {
  if (error && error.code === "MODULE_NOT_FOUND") {
    console.error("thumbnailer: dist/ is missing or stale; run `npm run build` first.");
    process.exit(2);
  }
  throw error;
}
cli.main(process.argv.slice(2));
