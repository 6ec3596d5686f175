/**
 * Builds dist/ (what bin/thumbnailer.js runs) once per test run: each tier's global setup builds
 * it and says so in the environment its test workers inherit, so the test files' own calls return
 * at once. Run outside such a setup, a lock folder keeps two callers from compiling over each other.
 */

import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
export const CLI = path.join(PROJECT_DIR, "bin", "thumbnailer.js");

/**
 * Set (in the environment the test workers inherit) once dist/ is built for this run. Not a
 * THUMBNAILER_* name: the commands the tests spawn refuse unknown ones.
 */
const BUILT = "JEST_DIST_BUILT";

export function buildDist(): void {
  if (process.env[BUILT] === "1") return;
  const lock = path.join(PROJECT_DIR, "dist", ".build-lock");
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than the deadline belongs to a killed run.
      if (Date.now() > deadline || Date.now() - statSync(lock).mtimeMs > 120_000) {
        rmSync(lock, { recursive: true, force: true });
      } else {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      }
    }
  }
  try {
    execFileSync(
      process.execPath,
      [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: PROJECT_DIR,
        stdio: "pipe",
      },
    );
  } catch {
    // tsc emits even with type errors elsewhere in the tree; a missing CLI fails the tests clearly.
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  process.env[BUILT] = "1";
}
