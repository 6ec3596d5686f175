/**
 * A Node.js binary of a given major for this machine, from the npm registry's official builds
 * (the `node-linux-<arch>` packages carry the release's `bin/node`), for tests that must run the
 * Node a Dockerfile stage runs rather than the one running Jest. Fetched with `npm pack`
 * (offline-first: npm's cache serves it after the first time) into a folder under the system's
 * temporary directory, and reused from there. A failure throws: the test that needs it fails.
 */

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The folder holding `node` of that major (for PATH). */
export function nodeRelease(major: number): string {
  const name = `node-linux-${process.arch}`;
  const home = join(tmpdir(), `thumbnailer-${name}-${major}`);
  const bin = join(home, "package", "bin");
  if (existsSync(join(bin, "node"))) return bin;
  const partial = `${home}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const env = {
    ...process.env,
    npm_config_prefer_offline: "true",
    npm_config_update_notifier: "false",
  };
  execFileSync("npm", ["pack", `${name}@${major}`, "--silent", "--pack-destination", partial], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 300_000,
  });
  const tarball = readdirSync(partial).find((f) => f.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`npm pack ${name}@${major} wrote no tarball`);
  execFileSync("tar", ["xzf", tarball], { cwd: partial });
  rmSync(join(partial, tarball));
  rmSync(home, { recursive: true, force: true });
  renameSync(partial, home);
  return bin;
}
