#!/usr/bin/env node
// Entry point of the `thumbnailer` command (package.json "bin"): runs the compiled local tools.
// `npm ci` and `npm run build` produce dist/ (so does `npm test`, whose pretest builds).

const path = require("node:path");

const entry = path.join(__dirname, "..", "dist", "cli", "index.js");
try {
  require.resolve(entry);
} catch {
  console.error("thumbnailer: dist/ is missing; run `npm run build` first.");
  process.exit(2);
}
require(entry).main(process.argv.slice(2));
