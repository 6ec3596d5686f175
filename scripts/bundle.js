#!/usr/bin/env node
/**
 * The Lambda handler as one minified CommonJS file, dist/index.js: the one place its esbuild
 * options are written. `node scripts/bundle.js` (npm run bundle) builds it; the Dockerfile's
 * build stage runs exactly that, `npm run bench` builds the same bundle for the Node it measures
 * (stacks/bundle.ts), and the image-input hash asks esbuild which files it reads (stacks/image-inputs.ts).
 *
 * One file to read instead of hundreds, for a short cold start; the AWS SDK taken from its ES
 * modules (mainFields module,main) so the S3 commands the handler never sends are left out.
 * sharp's JavaScript (with semver, detect-libc and @img/colour, about 40 files) is bundled too:
 * resolving and reading them one by one cost about 30 ms CPU of a cold start on Node 24
 * (docs/performance.md, cold start). Its native addon and libvips still load from node_modules:
 * sharp finds them with a require made by createRequire(import.meta.url), so import.meta.url is
 * the bundle's own URL. libheif-js (2 MB of WebAssembly, loaded on the first HEIC) stays external.
 * keepNames keeps class and function names in logs and stack traces.
 */
const { join } = require("node:path");

/** esbuild's build options, paths relative to the project root. */
const BUNDLE_OPTIONS = {
  entryPoints: ["handler/index.ts"],
  bundle: true,
  platform: "node",
  target: "node24",
  format: "cjs",
  mainFields: ["module", "main"],
  minify: true,
  keepNames: true,
  external: ["libheif-js"],
  define: { "import.meta.url": "__bundleUrl" },
  banner: { js: 'var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: "warning",
  outfile: "dist/index.js",
};

module.exports = { BUNDLE_OPTIONS };

if (require.main === module) {
  require("esbuild")
    .build({ ...BUNDLE_OPTIONS, absWorkingDir: join(__dirname, "..") })
    .catch(() => process.exit(1)); // esbuild has printed the errors
}
