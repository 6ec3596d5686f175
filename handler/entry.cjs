/**
 * The Lambda image's entry point (the Dockerfile copies it to LAMBDA_TASK_ROOT/entry.js; CMD
 * entry.handler): turns on Node's compile cache with the cache the Docker build made in
 * compile-cache/ beside this file, then loads the bundle (index.js) and exports its handler. So
 * the bundle and sharp's JavaScript load from V8 code cache instead of being parsed and compiled
 * at every cold start (docs/performance.md, cold start). A file of its own, not code in the
 * bundle: the bundle is compiled before any of its code could turn the cache on.
 *
 * Node names a cache folder by its version, architecture, V8 flags and user id
 * (v24.x.y-x64-<flags hash>-<uid>). The build runs as root (uid 0); Lambda runs the function as
 * an unprivileged user the image cannot know, on a read-only /var/task. So the cache is enabled
 * in the writable /tmp and this user's folder there is made a link to the build's folder of the
 * same version, architecture and flags. Nothing is written to the shipped folder (modules it
 * lacks are compiled as usual: Node's writes fail quietly on a read-only folder). Any problem
 * leaves the process as it would be without a cache: a cold start must never fail for a cache.
 */
"use strict";
const { lstatSync, readdirSync, rmdirSync, symlinkSync } = require("node:fs");
const { constants, enableCompileCache, getCompileCacheDir } = require("node:module");
const { tmpdir } = require("node:os");
const { basename, join } = require("node:path");

/** A cache folder's name without its trailing user id. */
const withoutUser = (name) => name.replace(/-\d+$/, "");

function useShippedCache() {
  if (typeof enableCompileCache !== "function") return; // Node < 22.1
  const { status } = enableCompileCache(join(tmpdir(), "node-compile-cache"));
  const folder = getCompileCacheDir();
  // ALREADY_ENABLED: NODE_COMPILE_CACHE chose a folder (the Docker build's own run).
  if (status !== constants.compileCacheStatus.ENABLED || folder === undefined) return;
  if (lstatSync(folder).isSymbolicLink()) return; // linked by an earlier start in this sandbox
  const shipped = join(__dirname, "compile-cache");
  const built = readdirSync(shipped).find(
    (name) => withoutUser(name) === withoutUser(basename(folder)),
  );
  if (built === undefined) return; // another Node version or other V8 flags than the build's
  rmdirSync(folder); // empty: Node has just made it and reads entries only as modules load
  symlinkSync(join(shipped, built), folder);
}

try {
  useShippedCache();
} catch {
  // No shipped cache then: the handler loads as it would without one.
}

module.exports = require("./index.js");
